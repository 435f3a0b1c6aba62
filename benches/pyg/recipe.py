"""The argva recipe run in PyTorch Geometric itself: the comparison column of the README's
quality table. Not part of the Rust build or CI.

    python -m venv pyg && pyg/bin/pip install torch torch_geometric scikit-learn
    pyg/bin/python benches/pyg/recipe.py --data-root /tmp/pyg --dataset Cora --model argva --seed 0

--data-root must be a writable folder holding <Dataset>/raw/ (PyG writes processed/ beside it).
--device cuda trains on the GPU; --timing prints one JSON line instead (epoch times after
--warmup untimed epochs, CUDA synchronised each epoch): benches/device/run.sh uses it.
Defaults follow argva's: raw features, hidden 64, latent 32, discriminator d → 64 → 64 → 1,
5 discriminator steps, Adam 0.005 / 0.001, 200 epochs, RandomLinkSplit(0.05, 0.1).
"""
import argparse

import torch
import torch_geometric
import torch_geometric.transforms as T
from sklearn.cluster import KMeans
from sklearn.metrics import normalized_mutual_info_score
from torch_geometric.datasets import Planetoid
from torch_geometric.nn import ARGA, ARGVA, GAE, GCNConv, VGAE

p = argparse.ArgumentParser()
p.add_argument("--data-root", required=True)
p.add_argument("--dataset", default="Cora")
p.add_argument("--model", default="argva", choices=["gae", "vgae", "arga", "argva"])
p.add_argument("--seed", type=int, default=0)
p.add_argument("--epochs", type=int, default=200)
p.add_argument("--hidden", type=int, default=64)
p.add_argument("--normalize-features", action="store_true")
p.add_argument("--device", default="cpu")
p.add_argument("--timing", action="store_true")
p.add_argument("--warmup", type=int, default=5)
a = p.parse_args()

torch.manual_seed(a.seed)
split = T.RandomLinkSplit(num_val=0.05, num_test=0.1, is_undirected=True,
                          split_labels=True, add_negative_train_samples=False)
transform = T.Compose([T.NormalizeFeatures(), split]) if a.normalize_features else split
train, val, test = (d.to(a.device) for d in Planetoid(a.data_root, a.dataset, transform=transform)[0])
variational, adversarial = a.model in ("vgae", "argva"), a.model in ("arga", "argva")


class Encoder(torch.nn.Module):
    def __init__(self, i, h, o):
        super().__init__()
        self.conv1 = GCNConv(i, h)
        self.conv_mu = GCNConv(h, o)
        if variational:
            self.conv_logstd = GCNConv(h, o)

    def forward(self, x, edge_index):
        x = self.conv1(x, edge_index).relu()
        mu = self.conv_mu(x, edge_index)
        return (mu, self.conv_logstd(x, edge_index)) if variational else mu


class Discriminator(torch.nn.Module):
    def __init__(self, i, h):
        super().__init__()
        self.lin1, self.lin2, self.lin3 = (torch.nn.Linear(i, h), torch.nn.Linear(h, h),
                                           torch.nn.Linear(h, 1))

    def forward(self, x):
        return self.lin3(self.lin2(self.lin1(x).relu()).relu())


encoder = Encoder(train.num_features, a.hidden, 32)
if adversarial:
    discriminator = Discriminator(32, 64)
    model = (ARGVA if variational else ARGA)(encoder, discriminator)
    disc_opt = torch.optim.Adam(discriminator.parameters(), lr=0.001)
else:
    model = (VGAE if variational else GAE)(encoder)
model = model.to(a.device)
enc_opt = torch.optim.Adam(encoder.parameters(), lr=0.005)


def sync():
    if a.device.startswith("cuda"):
        torch.cuda.synchronize()


import time  # noqa: E402

times = []
for epoch in range(a.epochs):
    sync()
    start = time.perf_counter()
    model.train()
    enc_opt.zero_grad()
    z = model.encode(train.x, train.edge_index)
    if adversarial:
        for _ in range(5):
            disc_opt.zero_grad()
            model.discriminator_loss(z).backward()
            disc_opt.step()
    loss = model.recon_loss(z, train.pos_edge_label_index)
    if adversarial:
        loss = loss + model.reg_loss(z)
    if variational:
        loss = loss + (1 / train.num_nodes) * model.kl_loss()
    loss.backward()
    enc_opt.step()
    sync()
    times.append(time.perf_counter() - start)

model.eval()
with torch.no_grad():
    z = model.encode(test.x, test.edge_index)
auc, ap = model.test(z, test.pos_edge_label_index, test.neg_edge_label_index)
pred = KMeans(n_clusters=int(test.y.max()) + 1, n_init=10, random_state=0).fit_predict(z.cpu().numpy())
nmi = normalized_mutual_info_score(test.y.cpu().numpy(), pred)
if a.timing:
    import json
    import statistics

    timed = [1e3 * t for t in times[a.warmup:]]
    print(json.dumps({
        "framework": f"PyTorch Geometric {torch_geometric.__version__}, torch {torch.__version__}",
        "device": torch.cuda.get_device_name() if a.device.startswith("cuda") else "cpu",
        "dataset": a.dataset, "model": a.model, "epochs_timed": len(timed),
        "epoch_ms_median": statistics.median(timed), "epoch_ms_min": min(timed),
        "epoch_ms_max": max(timed), "test_auc": auc, "test_ap": ap, "nmi": nmi,
    }))
else:
    print(f"{a.dataset} {a.model} seed {a.seed}: test AUC {auc:.4f} AP {ap:.4f} NMI {nmi:.4f}")
