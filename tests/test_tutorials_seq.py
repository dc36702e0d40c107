"""Sequence-model tutorials written as a user would, with only ``import engine as torch``:

* "Sequence Models and Long Short-Term Memory Networks" (the official tutorial's LSTM examples
  and its LSTMTagger part-of-speech tagger: nn.Embedding + nn.LSTM + nn.Linear + log_softmax +
  NLLLoss + SGD(lr=0.1), 300 epochs on the tiny training data);
* a character-level name classifier in the style of "NLP From Scratch: Classifying Names with a
  Character-Level RNN" (one-hot letters -> nn.RNN -> Linear -> LogSoftmax, NLLLoss, plain SGD
  updates on a small invented list of names).
"""

# ruff: noqa: PLR0402, SIM905, UP008, RUF059  (tutorial code kept as the tutorials write it)

import random
import string

import engine as torch
import engine.nn as nn
import engine.nn.functional as F
import engine.optim as optim


# ---- Sequence Models and LSTM Networks ------------------------------------------------------
def test_lstm_tutorial_step_by_step_equals_whole_sequence():
    torch.manual_seed(1)
    lstm = nn.LSTM(3, 3)  # Input dim is 3, output dim is 3
    inputs = [torch.randn(1, 3) for _ in range(5)]  # make a sequence of length 5

    # initialize the hidden state.
    hidden = (torch.randn(1, 1, 3), torch.randn(1, 1, 3))
    start = hidden
    for i in inputs:
        # Step through the sequence one element at a time.
        # after each step, hidden contains the hidden state.
        out, hidden = lstm(i.view(1, 1, -1), hidden)
    step_h, step_c = hidden

    # alternatively, we can do the entire sequence all at once.
    inputs = torch.cat(inputs).view(len(inputs), 1, -1)
    out, hidden = lstm(inputs, start)
    print(out)
    print(hidden)
    assert out.shape == (5, 1, 3) and hidden[0].shape == (1, 1, 3)
    assert torch.allclose(hidden[0], step_h, atol=1e-6)
    assert torch.allclose(hidden[1], step_c, atol=1e-6)
    assert torch.allclose(out[-1], hidden[0][0], atol=1e-6)


def prepare_sequence(seq, to_ix):
    idxs = [to_ix[w] for w in seq]
    return torch.tensor(idxs, dtype=torch.long)


training_data = [
    # Tags are: DET - determiner; NN - noun; V - verb
    # For example, the word "The" is a determiner
    ("The dog ate the apple".split(), ["DET", "NN", "V", "DET", "NN"]),
    ("Everybody read that book".split(), ["NN", "V", "DET", "NN"]),
]


class LSTMTagger(nn.Module):

    def __init__(self, embedding_dim, hidden_dim, vocab_size, tagset_size):
        super(LSTMTagger, self).__init__()
        self.hidden_dim = hidden_dim

        self.word_embeddings = nn.Embedding(vocab_size, embedding_dim)

        # The LSTM takes word embeddings as inputs, and outputs hidden states
        # with dimensionality hidden_dim.
        self.lstm = nn.LSTM(embedding_dim, hidden_dim)

        # The linear layer that maps from hidden state space to tag space
        self.hidden2tag = nn.Linear(hidden_dim, tagset_size)

    def forward(self, sentence):
        embeds = self.word_embeddings(sentence)
        lstm_out, _ = self.lstm(embeds.view(len(sentence), 1, -1))
        tag_space = self.hidden2tag(lstm_out.view(len(sentence), -1))
        tag_scores = F.log_softmax(tag_space, dim=1)
        return tag_scores


def test_lstm_tagger_learns_training_data():
    torch.manual_seed(1)
    word_to_ix = {}
    # For each words-list (sentence) and tags-list in each tuple of training_data
    for sent, tags in training_data:
        for word in sent:
            if word not in word_to_ix:  # word has not been assigned an index yet
                word_to_ix[word] = len(word_to_ix)  # Assign each word with a unique index
    tag_to_ix = {"DET": 0, "NN": 1, "V": 2}  # Assign each tag with a unique index
    EMBEDDING_DIM = 6
    HIDDEN_DIM = 6

    model = LSTMTagger(EMBEDDING_DIM, HIDDEN_DIM, len(word_to_ix), len(tag_to_ix))
    loss_function = nn.NLLLoss()
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    print(model)

    # See what the scores are before training
    with torch.no_grad():
        inputs = prepare_sequence(training_data[0][0], word_to_ix)
        tag_scores = model(inputs)
        print(tag_scores)

    epoch_losses = []
    for epoch in range(300):  # again, normally you would NOT do 300 epochs, it is toy data
        total = 0.0
        for sentence, tags in training_data:
            # Step 1. Remember that Pytorch accumulates gradients.
            model.zero_grad()

            # Step 2. Get our inputs ready for the network
            sentence_in = prepare_sequence(sentence, word_to_ix)
            targets = prepare_sequence(tags, tag_to_ix)

            # Step 3. Run our forward pass.
            tag_scores = model(sentence_in)

            # Step 4. Compute the loss, gradients, and update the parameters
            loss = loss_function(tag_scores, targets)
            loss.backward()
            optimizer.step()
            total += loss.item()
        epoch_losses.append(total)

    # See what the scores are after training
    with torch.no_grad():
        for sentence, tags in training_data:
            tag_scores = model(prepare_sequence(sentence, word_to_ix))
            print(tag_scores)
            predicted = tag_scores.argmax(dim=1).tolist()
            assert predicted == [tag_to_ix[t] for t in tags], (sentence, predicted)
    assert epoch_losses[-1] < 0.25 * epoch_losses[0], (epoch_losses[0], epoch_losses[-1])
    assert all(a >= b - 1e-3 for a, b in zip(epoch_losses[::50], epoch_losses[50::50]))


# ---- Classifying names with a character-level RNN -------------------------------------------
all_letters = string.ascii_letters + " .,;'"
n_letters = len(all_letters)

# small invented "languages" with distinct spelling habits
category_lines = {
    "Italianish": ["Rossi", "Bianchi", "Ferrari", "Romano", "Colombo", "Ricci", "Marino",
                   "Greco", "Bruno", "Gallo", "Conti", "Mancini", "Costa", "Giordano"],
    "Japanesish": ["Tanaka", "Suzuki", "Takahashi", "Watanabe", "Ito", "Yamamoto", "Nakamura",
                   "Kobayashi", "Saito", "Kato", "Yoshida", "Yamada", "Sasaki", "Matsumoto"],
    "Polishish": ["Nowak", "Kowalczyk", "Wisniewski", "Wojcik", "Kowalski", "Kaminski",
                  "Lewandowski", "Zielinski", "Szymanski", "Wozniak", "Dabrowski",
                  "Kozlowski", "Jankowski", "Mazur"],
}
all_categories = list(category_lines)
n_categories = len(all_categories)


def letterToIndex(letter):
    return all_letters.find(letter)


def lineToTensor(line):
    """<line_length x 1 x n_letters> one-hot letters."""
    tensor = torch.zeros(len(line), 1, n_letters)
    for li, letter in enumerate(line):
        tensor[li][0][letterToIndex(letter)] = 1
    return tensor


class CharRNN(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        super(CharRNN, self).__init__()
        self.rnn = nn.RNN(input_size, hidden_size)
        self.h2o = nn.Linear(hidden_size, output_size)
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, line_tensor):
        rnn_out, hidden = self.rnn(line_tensor)
        output = self.h2o(hidden[0])
        output = self.softmax(output)
        return output


def categoryFromOutput(output):
    top_n, top_i = output.topk(1)
    category_i = top_i[0].item()
    return all_categories[category_i], category_i


def test_char_rnn_name_classifier_trains():
    torch.manual_seed(0)
    rng = random.Random(0)
    n_hidden = 32
    rnn = CharRNN(n_letters, n_hidden, n_categories)
    print(rnn)
    criterion = nn.NLLLoss()
    learning_rate = 0.05
    names = [(c, line) for c in all_categories for line in category_lines[c]]
    tensors = {line: lineToTensor(line) for _, line in names}

    def train(category_tensor, line_tensor):
        rnn.zero_grad()
        output = rnn(line_tensor)
        loss = criterion(output, category_tensor)
        loss.backward()
        # Add parameters' gradients to their values, multiplied by learning rate
        for p in rnn.parameters():
            p.data.add_(p.grad.data, alpha=-learning_rate)
        return output, loss.item()

    losses = []
    for it in range(400):
        category, line = rng.choice(names)
        category_tensor = torch.tensor([all_categories.index(category)], dtype=torch.long)
        output, loss = train(category_tensor, tensors[line])
        losses.append(loss)
    first, last = sum(losses[:80]) / 80, sum(losses[-80:]) / 80
    assert last < 0.6 * first, (first, last)

    with torch.no_grad():
        correct = sum(categoryFromOutput(rnn(tensors[line]))[0] == c for c, line in names)
    assert correct >= 0.7 * len(names), correct
