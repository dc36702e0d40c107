// engine._strided: the one implementation of strided-view arithmetic.
// Everything is in ELEMENTS (int64): sizes, strides, storage offsets. Inputs are any Python
// sequence of ints, outputs are tuples. These functions run on every op call, so metadata lives
// in fixed-size stack arrays (no heap allocation) and tuples are built with the raw C API.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>  // std::optional for slice start/stop

#include <algorithm>
#include <cstdint>
#include <functional>
#include <numeric>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace py = pybind11;

namespace sv {

constexpr int64_t kMaxDims = 64;  // numpy's NPY_MAXDIMS; lets Dims live on the stack
PyObject* g_dim_error = nullptr;  // DimensionError(IndexError, ValueError)

struct Dims {
  int64_t n = 0;
  int64_t v[kMaxDims];
  int64_t& operator[](int64_t i) { return v[i]; }
  int64_t operator[](int64_t i) const { return v[i]; }
  void erase(int64_t i) { std::copy(v + i + 1, v + n--, v + i); }
  void insert(int64_t i, int64_t x) { std::copy_backward(v + i, v + n, v + n + 1), ++n, v[i] = x; }
};

// For error messages: Python's tuple style "(2, 3)", "(4,)", or torch's list style "[2, 3]".
std::string fmt(const Dims& d, bool list = false) {
  std::string s;
  for (int64_t i = 0; i < d.n; ++i) s += (i ? ", " : "") + std::to_string(d[i]);
  return list ? "[" + s + "]" : "(" + s + (d.n == 1 ? ",)" : ")");
}
std::ostream& operator<<(std::ostream& os, const Dims& d) { return os << fmt(d); }

template <class... A>
std::string cat(const A&... a) {
  std::ostringstream s;
  (s << ... << a);
  return s.str();
}

// Parse any sequence of ints into `out`. PySequence_Fast costs nothing for tuples and lists.
Dims parse(py::handle obj, const char* what) {
  Dims out;
  PyObject* raw = PySequence_Fast(obj.ptr(), "");
  if (!raw) {
    PyErr_Clear();
    throw py::type_error(cat(what, " must be a sequence of ints, not ",
                             Py_TYPE(obj.ptr())->tp_name));
  }
  auto seq = py::reinterpret_steal<py::object>(raw);
  Py_ssize_t n = PySequence_Fast_GET_SIZE(raw);
  if (n > kMaxDims) throw py::value_error(cat(what, " has ", n, " dims; at most 64 are supported"));
  PyObject** items = PySequence_Fast_ITEMS(raw);
  out.n = n;
  for (Py_ssize_t i = 0; i < n; ++i) {
    out[i] = PyLong_AsLongLong(items[i]);  // accepts anything with __index__
    if (out[i] == -1 && PyErr_Occurred()) throw py::error_already_set();
  }
  return out;
}

Dims parse_shape(py::handle obj, const char* what = "shape") {
  Dims d = parse(obj, what);
  for (int64_t i = 0; i < d.n; ++i)
    if (d[i] < 0) throw py::value_error(cat("negative size in ", what, " ", d));
  return d;
}

struct View { Dims s, st; };  // shape, strides
View parse_view(py::handle shape, py::handle strides) {
  View v{parse_shape(shape), parse(strides, "strides")};
  if (v.s.n != v.st.n)
    throw py::value_error(cat("shape ", v.s, " and strides ", v.st, " differ in length"));
  return v;
}

py::tuple to_tuple(const int64_t* v, int64_t n) {
  auto t = py::reinterpret_steal<py::tuple>(PyTuple_New(n));
  if (!t) throw py::error_already_set();
  for (int64_t i = 0; i < n; ++i) {
    PyObject* x = PyLong_FromLongLong(v[i]);  // fails only when out of memory
    if (!x) throw py::error_already_set();
    PyTuple_SET_ITEM(t.ptr(), i, x);
  }
  return t;
}
py::tuple to_tuple(const Dims& d) { return to_tuple(d.v, d.n); }

// torch's maybe_wrap_dim; a 0-d tensor accepts dims -1 and 0 like a 1-d one (wrap_scalar).
int64_t wrap_dim(int64_t dim, int64_t ndim) {
  int64_t n = std::max<int64_t>(ndim, 1);
  if (dim >= -n && dim < n) return dim < 0 ? dim + n : dim;
  std::string msg = cat("Dimension out of range (expected to be in range of [", -n, ", ", n - 1,
                        "], but got ", dim, ")");
  PyErr_SetString(g_dim_error, msg.c_str());
  throw py::error_already_set();
}

// dims given as one int or a sequence, each wrapped; duplicates are an error.
void parse_dims(py::handle obj, int64_t ndim, Dims& out, bool seen[], const char* op) {
  bool is_int = PyLong_Check(obj.ptr());
  out = parse(is_int ? py::make_tuple(obj) : py::reinterpret_borrow<py::object>(obj), "dims");
  for (int64_t i = 0; i < out.n; ++i) {
    int64_t d = wrap_dim(out[i], ndim);
    if (seen[d]) throw py::value_error(cat(op, ": dim ", d, " appears more than once in ", out));
    seen[d] = true;
    out[i] = d;
  }
}

int64_t numel_of(const Dims& s) {
  return std::accumulate(s.v, s.v + s.n, int64_t{1}, std::multiplies<int64_t>());
}

void contiguous_into(const Dims& s, Dims& out) {
  out.n = s.n;
  int64_t acc = 1;  // torch counts a size 0 as 1 here
  for (int64_t i = s.n - 1; i >= 0; --i) out[i] = acc, acc *= std::max<int64_t>(s[i], 1);
}

// ---- the bound functions ----

int64_t numel(py::handle shape) { return numel_of(parse_shape(shape)); }

py::tuple contiguous_strides(py::handle shape) {
  Dims st;
  contiguous_into(parse_shape(shape), st);
  return to_tuple(st);
}

bool is_contiguous(py::handle shape, py::handle strides) {
  auto [s, st] = parse_view(shape, strides);
  if (numel_of(s) == 0) return true;
  int64_t expected = 1;
  for (int64_t i = s.n - 1; i >= 0; --i) {
    if (s[i] == 1) continue;  // the stride of a size-1 dim is never used
    if (st[i] != expected) return false;
    expected *= s[i];
  }
  return true;
}

py::tuple broadcast_shapes(const py::args& shapes) {
  Dims out;
  for (py::handle h : shapes) {
    auto obj = py::reinterpret_borrow<py::object>(h);
    Dims s = parse_shape(PyLong_Check(h.ptr()) ? py::make_tuple(obj) : obj);  // int: a 1-d shape
    if (s.n > out.n) {  // right-align: prepend ones
      std::fill(out.v + out.n, out.v + s.n, 1);
      std::rotate(out.v, out.v + out.n, out.v + s.n);
      out.n = s.n;
    }
    for (int64_t j = 1; j <= s.n; ++j) {
      int64_t &o = out[out.n - j], x = s[s.n - j];
      if (o == 1) o = x;
      if (x != o && x != 1) {  // error path: name every shape as the caller wrote it
        std::string msg = "shapes ";
        for (size_t k = 0; k < shapes.size(); ++k)
          msg += (k == 0 ? "" : k + 1 == shapes.size() ? " and " : ", ") +
                 py::repr(shapes[k]).cast<std::string>();
        throw py::value_error(msg + " are not broadcastable");
      }
    }
  }
  return to_tuple(out);
}

// torch's inferExpandGeometry.
py::tuple expand(py::handle shape, py::handle strides, py::handle new_shape) {
  auto [s, st] = parse_view(shape, strides);
  Dims t = parse(new_shape, "new_shape"), os, ost;
  if (t.n < s.n)
    throw py::value_error(cat("expand: target ", t, " has fewer dims than tensor ", s));
  os.n = ost.n = t.n;
  for (int64_t i = t.n - 1; i >= 0; --i) {
    int64_t d = i - (t.n - s.n), size = d >= 0 ? s[d] : 1, target = t[i];
    // torch: a new leading dim gets the stride a contiguous tensor would have; 0-d gets zeros
    int64_t stride = d >= 0 ? st[d] : s.n == 0 ? 0 : os[i + 1] * ost[i + 1];
    if (target == -1 && d < 0)
      throw py::value_error(cat("expand: size -1 is not allowed in a leading, new dimension ", i,
                                "; target ", t, ", tensor ", s));
    if (target == -1) target = size;
    if (target < 0) throw py::value_error(cat("expand: invalid size ", target, "; target ", t));
    if (size != target) {
      if (size != 1)
        throw py::value_error(cat("expanded size ", target, " must match existing size ", size,
                                  " at non-singleton dimension ", i, "; target ", t,
                                  ", tensor ", s));
      size = target, stride = 0;  // broadcast: every index reads the same element
    }
    os[i] = size, ost[i] = stride;
  }
  return py::make_tuple(to_tuple(os), to_tuple(ost));
}

// torch's infer_size_impl.
py::tuple infer_size(int64_t numel, py::handle shape) {
  Dims s = parse(shape, "shape");
  int64_t known = 1, infer = -1;
  for (int64_t i = 0; i < s.n; ++i) {
    if (s[i] == -1 && infer >= 0)
      throw py::value_error(cat("only one dimension can be inferred, got ", s));
    if (s[i] < -1) throw py::value_error(cat("invalid shape dimension ", s[i], " in ", s));
    if (s[i] == -1) infer = i;
    else known *= s[i];
  }
  if (numel == known || (infer >= 0 && known > 0 && numel % known == 0)) {
    if (infer >= 0 && known == 0)
      throw py::value_error(cat("cannot reshape tensor of 0 elements into shape ", fmt(s, true),
                                " because the unspecified dimension size -1 can be any value "
                                "and is ambiguous"));
    if (infer >= 0) s[infer] = numel / known;
    return to_tuple(s);
  }
  throw py::value_error(cat("shape '", fmt(s, true), "' is invalid for input of size ", numel));
}

// Port of torch's computeStride (aten/src/ATen/TensorUtils.cpp): walk the old dims from the
// right in chunks that are contiguous among themselves; each chunk must map onto a run of new
// dims with exactly the same numel, else the view needs a copy.
py::object view_strides(py::handle shape, py::handle strides, py::handle new_shape) {
  Dims ns = parse_shape(new_shape, "new_shape"), out;
  auto [s, st] = parse_view(shape, strides);
  int64_t numel = numel_of(s);
  if (numel != numel_of(ns))
    throw py::value_error(cat("view_strides: shape ", s, " (", numel,
                              " elements) cannot be viewed as ", ns));
  // Strides are arbitrary when empty (torch keeps them if the shape is unchanged) and for a 0-d
  // tensor, whose new shape is all ones: use contiguous ones.
  if (numel == 0 && s.n == ns.n && std::equal(s.v, s.v + s.n, ns.v)) return to_tuple(st);
  contiguous_into(ns, out);
  if (numel == 0 || s.n == 0) return to_tuple(out);
  int64_t view_d = ns.n - 1, chunk_base_stride = st[s.n - 1], tensor_numel = 1, view_numel = 1;
  for (int64_t d = s.n - 1; d >= 0; --d) {
    tensor_numel *= s[d];
    if (d == 0 || (s[d - 1] != 1 && st[d - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || ns[view_d] == 1)) {
        out[view_d] = view_numel * chunk_base_stride;
        view_numel *= ns[view_d--];
      }
      if (view_numel != tensor_numel) return py::none();
      if (d > 0) chunk_base_stride = st[d - 1], tensor_numel = view_numel = 1;
    }
  }
  if (view_d != -1) return py::none();
  return to_tuple(out);
}

py::tuple permute(py::handle shape, py::handle strides, py::handle dims) {
  auto [s, st] = parse_view(shape, strides);
  Dims p, os, ost;
  bool seen[kMaxDims] = {};
  parse_dims(dims, s.n, p, seen, "permute");
  if (p.n != s.n)
    throw py::value_error(cat("permute: got ", p.n, " dims for tensor of shape ", s));
  os.n = ost.n = s.n;
  for (int64_t i = 0; i < p.n; ++i) os[i] = s[p[i]], ost[i] = st[p[i]];
  return py::make_tuple(to_tuple(os), to_tuple(ost));
}

int64_t clamp_index(std::optional<int64_t> x, int64_t size, int64_t dflt) {
  if (!x) return dflt;
  return std::clamp<int64_t>(*x < 0 ? *x + size : *x, 0, size);  // Python: wrap once, clamp
}

py::tuple slice(py::handle shape, py::handle strides, int64_t offset, int64_t dim,
                std::optional<int64_t> start, std::optional<int64_t> stop, int64_t step) {
  auto [s, st] = parse_view(shape, strides);
  if (s.n == 0) throw py::index_error("slice() cannot be applied to a 0-dim tensor");
  if (step <= 0) throw py::value_error(cat("slice step must be positive, got ", step));
  dim = wrap_dim(dim, s.n);
  int64_t b = clamp_index(start, s[dim], 0), e = clamp_index(stop, s[dim], s[dim]);
  offset += b * st[dim];
  s[dim] = e > b ? (e - b + step - 1) / step : 0;
  st[dim] *= step;
  return py::make_tuple(to_tuple(s), to_tuple(st), offset);
}

py::tuple select(py::handle shape, py::handle strides, int64_t offset, int64_t dim,
                 int64_t index) {
  auto [s, st] = parse_view(shape, strides);
  if (s.n == 0) throw py::index_error("select() cannot be applied to a 0-dim tensor");
  dim = wrap_dim(dim, s.n);
  if (index < -s[dim] || index >= s[dim])
    throw py::index_error(cat("index ", index, " is out of bounds for dimension ", dim,
                              " with size ", s[dim]));
  offset += (index < 0 ? index + s[dim] : index) * st[dim];
  s.erase(dim);
  st.erase(dim);
  return py::make_tuple(to_tuple(s), to_tuple(st), offset);
}

py::tuple squeeze(py::handle shape, py::handle strides, py::handle dims) {
  auto [s, st] = parse_view(shape, strides);
  Dims ds;
  bool listed[kMaxDims] = {};
  if (dims.is_none()) std::fill(listed, listed + kMaxDims, true);
  else parse_dims(dims, s.n, ds, listed, "squeeze");
  int64_t k = 0;
  for (int64_t i = 0; i < s.n; ++i)  // torch leaves listed non-size-1 dims alone
    if (!listed[i] || s[i] != 1) s[k] = s[i], st[k++] = st[i];
  s.n = st.n = k;
  return py::make_tuple(to_tuple(s), to_tuple(st));
}

py::tuple unsqueeze(py::handle shape, py::handle strides, int64_t dim) {
  auto [s, st] = parse_view(shape, strides);
  if (s.n == kMaxDims) throw py::value_error("unsqueeze: tensor already has 64 dims");
  dim = wrap_dim(dim, s.n + 1);
  st.insert(dim, dim >= s.n ? 1 : s[dim] * st[dim]);  // torch's rule
  s.insert(dim, 1);
  return py::make_tuple(to_tuple(s), to_tuple(st));
}

// Launch planner: fewer dims means fewer index divisions per element in the strided kernels.
py::tuple collapse(py::handle shape, py::handle strides_list) {
  Dims s = parse_shape(shape);
  auto ops = py::reinterpret_borrow<py::sequence>(strides_list);
  int64_t k = static_cast<int64_t>(py::len(ops)), n = 0;
  std::vector<Dims> st(k);  // one allocation per call; operands are few
  for (int64_t j = 0; j < k; ++j) {
    st[j] = parse(ops[j], "strides");
    if (st[j].n != s.n)
      throw py::value_error(cat("collapse: strides ", st[j], " of operand ", j,
                                " do not match shape ", s));
  }
  bool empty = numel_of(s) == 0;
  for (int64_t i = 0; i < s.n && !empty; ++i) {
    if (s[i] == 1) continue;  // size-1 dims never advance the index
    bool merge = n > 0;
    for (int64_t j = 0; merge && j < k; ++j) merge = st[j][n - 1] == st[j][i] * s[i];
    int64_t to = merge ? n - 1 : n++;  // write into the previous dim, or append (to <= i)
    s[to] = merge ? s[to] * s[i] : s[i];
    for (int64_t j = 0; j < k; ++j) st[j][to] = st[j][i];
  }
  if (n == 0) {  // kernels always get at least one dim; an empty launch is ((0,), (1,))
    s[n++] = empty ? 0 : 1;
    for (int64_t j = 0; j < k; ++j) st[j][0] = empty ? 1 : 0;
  }
  py::list out(k);
  for (int64_t j = 0; j < k; ++j) out[j] = to_tuple(st[j].v, n);
  return py::make_tuple(to_tuple(s.v, n), out);
}

}  // namespace sv

PYBIND11_MODULE(_strided, m) {
  using namespace pybind11::literals;
  m.doc() = "Strided-view arithmetic in elements: shapes, strides, offsets (all int64 tuples).";
  // An IndexError like torch's, and a ValueError so callers may catch either.
  py::tuple bases = py::make_tuple(py::handle(PyExc_IndexError), py::handle(PyExc_ValueError));
  sv::g_dim_error = PyErr_NewException("engine._strided.DimensionError", bases.ptr(), nullptr);
  if (!sv::g_dim_error) throw py::error_already_set();
  m.attr("DimensionError") = py::handle(sv::g_dim_error);
  m.attr("MAX_DIMS") = sv::kMaxDims;
  m.def("numel", &sv::numel, "shape"_a, "Number of elements. numel((2, 3)) -> 6");
  m.def("contiguous_strides", &sv::contiguous_strides, "shape"_a,
        "Row-major strides like torch.empty(shape).stride(). contiguous_strides((2, 3)) -> (3, 1)");
  m.def("is_contiguous", &sv::is_contiguous, "shape"_a, "strides"_a,
        "torch's rule: size-1 dims are ignored, empty is contiguous.\n"
        "is_contiguous((2, 1), (1, 9)) -> True");
  m.def("broadcast_shapes", &sv::broadcast_shapes,
        "Common shape by numpy/torch rules, else ValueError.\n"
        "broadcast_shapes((2, 1), (3,)) -> (2, 3)");
  m.def("expand", &sv::expand, "shape"_a, "strides"_a, "new_shape"_a,
        "torch.expand -> (shape, strides); -1 keeps a size, broadcast dims get stride 0.\n"
        "expand((3, 1), (1, 1), (2, -1, 4)) -> ((2, 3, 4), (0, 1, 0))");
  m.def("infer_size", &sv::infer_size, "numel"_a, "shape"_a,
        "Resolve one -1 for numel elements, else ValueError. infer_size(6, (2, -1)) -> (2, 3)");
  m.def("view_strides", &sv::view_strides, "shape"_a, "strides"_a, "new_shape"_a,
        "Strides to view as new_shape without a copy, or None (torch's computeStride).\n"
        "view_strides((2, 3), (3, 1), (6,)) -> (1,); view_strides((2, 3), (1, 2), (6,)) -> None");
  m.def("permute", &sv::permute, "shape"_a, "strides"_a, "dims"_a,
        "Reorder dims -> (shape, strides). permute((2, 3), (3, 1), (1, 0)) -> ((3, 2), (1, 3))");
  m.def("slice", &sv::slice, "shape"_a, "strides"_a, "offset"_a, "dim"_a, "start"_a = py::none(),
        "stop"_a = py::none(), "step"_a = 1,
        "x[start:stop:step] on dim -> (shape, strides, offset); Python clamping, step > 0.\n"
        "slice((10,), (1,), 0, 0, 1, 8, 3) -> ((3,), (3,), 1)");
  m.def("select", &sv::select, "shape"_a, "strides"_a, "offset"_a, "dim"_a, "index"_a,
        "x[..., index] on dim, dropping it -> (shape, strides, offset).\n"
        "select((2, 3), (3, 1), 0, 1, -1) -> ((2,), (3,), 2)");
  m.def("squeeze", &sv::squeeze, "shape"_a, "strides"_a, "dims"_a = py::none(),
        "Drop size-1 dims (all if None; listed non-size-1 dims stay) -> (shape, strides).\n"
        "squeeze((1, 3, 1), (3, 1, 1), None) -> ((3,), (1,))");
  m.def("unsqueeze", &sv::unsqueeze, "shape"_a, "strides"_a, "dim"_a,
        "Insert a size-1 dim, dim in [-ndim-1, ndim] -> (shape, strides).\n"
        "unsqueeze((2, 3), (3, 1), 1) -> ((2, 1, 3), (3, 3, 1))");
  m.def("collapse", &sv::collapse, "shape"_a, "strides_list"_a,
        "Launch plan: drop size-1 dims, merge dims contiguous in every operand\n"
        "-> (shape, [strides, ...]) with >= 1 dim; empty gives ((0,), [(1,), ...]).\n"
        "collapse((2, 3, 4), [(12, 4, 1), (0, 0, 1)]) -> ((6, 4), [(4, 1), (0, 1)])");
}
