"""PyTorch's "Language Modeling with nn.Transformer" tutorial, written as a user would with
``import engine as torch``: PositionalEncoding (a registered buffer), nn.Embedding, a
TransformerEncoder under a causal mask, a Linear decoder, CrossEntropyLoss, SGD + StepLR and
clip_grad_norm_. The WikiText-2 data is replaced by a small synthetic token stream (a repeating
sequence), so a working model learns it and the loss falls far below its start."""

import math
import warnings

import engine as torch
from engine import Tensor, nn
from engine.nn import TransformerEncoder, TransformerEncoderLayer


class PositionalEncoding(nn.Module):
    def __init__(self, d_model: int, dropout: float = 0.1, max_len: int = 5000):
        super().__init__()
        self.dropout = nn.Dropout(p=dropout)

        position = torch.arange(max_len).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(max_len, 1, d_model)
        pe[:, 0, 0::2] = torch.sin(position * div_term)
        pe[:, 0, 1::2] = torch.cos(position * div_term)
        self.register_buffer("pe", pe)

    def forward(self, x: Tensor) -> Tensor:
        """x: Tensor, shape ``[seq_len, batch_size, embedding_dim]``"""
        x = x + self.pe[: x.size(0)]
        return self.dropout(x)


class TransformerModel(nn.Module):
    def __init__(self, ntoken: int, d_model: int, nhead: int, d_hid: int, nlayers: int,
                 dropout: float = 0.5):
        super().__init__()
        self.model_type = "Transformer"
        self.pos_encoder = PositionalEncoding(d_model, dropout)
        encoder_layers = TransformerEncoderLayer(d_model, nhead, d_hid, dropout)
        self.transformer_encoder = TransformerEncoder(encoder_layers, nlayers)
        self.embedding = nn.Embedding(ntoken, d_model)
        self.d_model = d_model
        self.linear = nn.Linear(d_model, ntoken)

        self.init_weights()

    def init_weights(self) -> None:
        initrange = 0.1
        self.embedding.weight.data.uniform_(-initrange, initrange)
        self.linear.bias.data.zero_()
        self.linear.weight.data.uniform_(-initrange, initrange)

    def forward(self, src: Tensor, src_mask: Tensor = None) -> Tensor:
        """src: ``[seq_len, batch_size]``; returns ``[seq_len, batch_size, ntoken]``"""
        src = self.embedding(src) * math.sqrt(self.d_model)
        src = self.pos_encoder(src)
        if src_mask is None:
            src_mask = nn.Transformer.generate_square_subsequent_mask(len(src))
        output = self.transformer_encoder(src, src_mask)
        output = self.linear(output)
        return output


def batchify(data: Tensor, bsz: int) -> Tensor:
    """Divides the data into ``bsz`` separate sequences, removing extra elements."""
    seq_len = data.size(0) // bsz
    data = data[: seq_len * bsz]
    data = data.view(bsz, seq_len).t().contiguous()
    return data


bptt = 8


def get_batch(source: Tensor, i: int) -> tuple[Tensor, Tensor]:
    seq_len = min(bptt, len(source) - 1 - i)
    data = source[i : i + seq_len]
    target = source[i + 1 : i + 1 + seq_len].reshape(-1)
    return data, target


def test_transformer_language_model_learns_a_repeating_stream():
    torch.manual_seed(0)
    pattern = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7]
    ntokens = 10
    train_data = batchify(torch.tensor(pattern * 40, dtype=torch.long), 4)  # [140, 4]

    emsize, d_hid, nlayers, nhead, dropout = 16, 32, 2, 2, 0.1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # enable_nested_tensor notice, as in torch
        model = TransformerModel(ntokens, emsize, nhead, d_hid, nlayers, dropout)
    assert model.pos_encoder.pe.shape == (5000, 1, emsize)
    assert "pos_encoder.pe" in model.state_dict()
    assert "pos_encoder.pe" not in dict(model.named_parameters())

    criterion = nn.CrossEntropyLoss()
    lr = 1.0
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1.0, gamma=0.95)

    model.train()
    losses = []
    for epoch in range(7):
        for i in range(0, train_data.size(0) - 1, bptt):
            data, targets = get_batch(train_data, i)
            output = model(data)
            output_flat = output.view(-1, ntokens)
            loss = criterion(output_flat, targets)

            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
            optimizer.step()
            losses.append(loss.item())
        scheduler.step()

    assert len(losses) >= 100
    assert all(math.isfinite(v) for v in losses)
    start = sum(losses[:5]) / 5
    end = sum(losses[-10:]) / 10
    assert start > 1.5, start
    assert end < 0.35 * start, (start, end)

    model.eval()  # evaluation as the tutorial: no_grad, the causal mask built by forward
    with torch.no_grad():
        data, targets = get_batch(train_data, 0)
        pred = model(data).argmax(-1).reshape(-1)
    # the first position of each row has no context to tell which pattern element follows
    acc = (pred == targets).float().mean().item()
    assert acc > 0.7, acc
