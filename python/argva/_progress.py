"""The progress display of `argva.fit`: tqdm (terminals and notebooks) when installed, else
one line rewritten on stderr."""

from __future__ import annotations

import sys
from typing import Any, Dict, Optional


class Progress:
    """Called by the native module once per epoch (and per validation)."""

    def __init__(self, epochs: int, model: str, enabled: bool) -> None:
        self.epochs = epochs
        self.model = model
        self.enabled = bool(enabled) and sys.stderr is not None
        self.bar: Any = None
        self.val_auc: Optional[float] = None
        self.line = False
        if self.enabled:
            try:
                from tqdm.auto import tqdm

                self.bar = tqdm(total=epochs, desc=model, unit="epoch", leave=False)
            except ImportError:
                self.bar = None

    def _message(self, v: Dict[str, float]) -> str:
        msg = f"loss {v['total']:.4f} (recon {v['recon']:.4f}"
        if self.model in ("arga", "argva"):
            msg += f", reg {v['reg']:.4f}, D {v['disc']:.4f}"
        msg += ")"
        if self.val_auc is not None:
            msg += f" val AUC {self.val_auc:.4f}"
        return msg

    def __call__(self, kind: str, epoch: int, values: Dict[str, float]) -> None:
        if not self.enabled:
            return
        if kind == "val":
            self.val_auc = values["auc"]
            return
        if kind != "epoch":
            return
        if self.bar is not None:
            # (a resumed run's first epoch is past the checkpoint's count)
            self.bar.update(epoch - self.bar.n)
            self.bar.set_postfix_str(self._message(values), refresh=False)
        else:
            sys.stderr.write(f"\rargva {self.model} {epoch}/{self.epochs} epochs {self._message(values)}")
            sys.stderr.flush()
            self.line = True

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        elif self.line:
            sys.stderr.write("\n")
            sys.stderr.flush()
