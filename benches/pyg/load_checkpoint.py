"""Loads an argva run's model.safetensors into PyTorch Geometric's ARGVA and compares the
embedding μ it computes with argva's embedding.npy (the README's compatibility claim).

    argva train cora --out runs/c
    pyg/bin/pip install safetensors
    pyg/bin/python benches/pyg/load_checkpoint.py runs/c /tmp/pyg   # folder with Cora/raw/
"""
import sys

import numpy as np
import torch
from safetensors.torch import load_file
from torch_geometric.datasets import Planetoid
from torch_geometric.nn import ARGVA, GCNConv

run, root = sys.argv[1], sys.argv[2]


class Encoder(torch.nn.Module):
    def __init__(self, i, h, o):
        super().__init__()
        self.conv1, self.conv_mu, self.conv_logstd = GCNConv(i, h), GCNConv(h, o), GCNConv(h, o)

    def forward(self, x, edge_index):
        x = self.conv1(x, edge_index).relu()
        return self.conv_mu(x, edge_index), self.conv_logstd(x, edge_index)


class Discriminator(torch.nn.Module):
    def __init__(self, i, h):
        super().__init__()
        self.lin1, self.lin2, self.lin3 = (torch.nn.Linear(i, h), torch.nn.Linear(h, h),
                                           torch.nn.Linear(h, 1))

    def forward(self, x):
        return self.lin3(self.lin2(self.lin1(x).relu()).relu())


state = {k: v for k, v in load_file(f"{run}/model.safetensors").items() if not k.startswith("adam.")}
data = Planetoid(root, "Cora")[0]
model = ARGVA(Encoder(data.num_features, 64, 32), Discriminator(32, 64))
missing, unexpected = model.load_state_dict(state, strict=False)
print("missing:", missing, "unexpected:", unexpected)  # only PyG's VGAE.encoder.* aliases

# Message passing over the training edges, as in the run: all edges but the held-out pairs.
held = {tuple(sorted(p)) for f in ("val_pos", "test_pos") for p in np.load(f"{run}/{f}.npy").tolist()}
edges = data.edge_index.numpy().T
train_edges = torch.tensor(edges[[tuple(sorted(e)) not in held for e in edges.tolist()]].T)
model.eval()
with torch.no_grad():
    mu = model.encode(data.x, train_edges).numpy()
ours = np.load(f"{run}/embedding.npy")
print(f"max |μ_PyG − μ_argva| = {np.abs(mu - ours).max():.2e} (largest |μ| {np.abs(ours).max():.2f})")
