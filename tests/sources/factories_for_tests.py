"""Factories that the python: source tests reference (python:factories_for_tests:NAME)."""

import numpy as np
import torch


def build_net(width=8, n_in=4, n_out=3):
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(n_in, width), torch.nn.ReLU(), torch.nn.Linear(width, n_out))


def build_forest(n_estimators=3):
    from sklearn.ensemble import RandomForestClassifier

    rng = np.random.default_rng(0)
    X = rng.random((40, 4)).astype(np.float32)
    return RandomForestClassifier(n_estimators=n_estimators, random_state=0).fit(X, (X[:, 0] > 0.5).astype(int))


def build_unfitted():
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression()


def build_function(threshold=0.5):
    return lambda X: (np.asarray(X)[:, 0] > threshold).astype(np.int64)


def build_nothing():
    return 3


def build_broken(size=1):
    raise RuntimeError(f"no GPU for size {size}\nsecond line")


def always_fails(X):
    raise RuntimeError("this model always fails")


def build_raising():
    """A callable that loads and then fails on every call: a candidate that fails while measured."""
    return always_fails


def double(x):
    """A function used inside a pipeline saved with skops: a type outside skops' trusted list."""
    return 2 * x


class Picklable:
    """A plain object to pickle: any model-like object a pickle could hold."""

    def __init__(self, k):
        self.k = k

    def __call__(self, X):
        return np.full(len(X), self.k)


class TokenNet(torch.nn.Module):
    """A model of named integer inputs: embedding of input_ids, masked mean, linear; a dict output."""

    def __init__(self, vocab=20, n_out=3):
        super().__init__()
        torch.manual_seed(0)
        self.emb = torch.nn.Embedding(vocab, 8)
        self.head = torch.nn.Linear(8, n_out)

    def forward(self, input_ids, attention_mask):
        if input_ids.dtype != torch.int64:  # integer inputs must reach the model as integers
            raise TypeError(f"input_ids must be int64, got {input_ids.dtype}")
        m = attention_mask.unsqueeze(-1).float()
        pooled = (self.emb(input_ids) * m).sum(1) / m.sum(1).clamp(min=1)
        return {"logits": self.head(pooled), "pooled": pooled}


def build_token_net(vocab=20, n_out=3):
    return TokenNet(vocab, n_out)


def save_tiny_bert(folder, num_labels=3):
    """A tiny BERT classifier built from a config (seeded), saved with save_pretrained into ``folder``; returned."""
    import transformers

    config = transformers.BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                     intermediate_size=32, max_position_embeddings=32, num_labels=num_labels)
    torch.manual_seed(0)
    model = transformers.BertForSequenceClassification(config).eval()
    model.save_pretrained(folder)
    return model
