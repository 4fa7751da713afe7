"""Run under torchrun (or plain python for one process): the ptb-train evaluation training of one cell
on synthetic text, uninterrupted and resumed from a checkpoint (the first try finding a corrupt one);
each rank writes its curves, perplexities and how many checkpoints it wrote to argv[1].<rank>.json."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import torch

EPOCHS = 2


def _fit(epochs: int, checkpoint: Path | None) -> dict[str, Any]:
    from benchmarks.training.lm_trainer import fit_cell, lm_preset
    from benchmarks.training.data.text import synthetic
    from benchmarks.spaces.rnn import EDNAS_PTB, RNNSpace

    # every dropout on; lr 2, not 20: at lr 20 this 16-unit cell trains chaotically and rounding
    # differences (a sum over 2 ranks) grow past any tolerance within an epoch or two
    recipe = lm_preset("tiny", epochs=EPOCHS, lr=2.0)
    res = fit_cell(synthetic(2000, 400, 400), RNNSpace().parse(EDNAS_PTB), recipe, 0, epochs, checkpoint=checkpoint)
    return {"step_loss": res.step_loss.tolist(), "valid_loss": res.valid_loss.tolist(), "val": res.val,
            "test": res.test, "asgd_from": res.asgd_from}


def main(out: Path) -> None:
    import benchmarks.training.checkpoint as ck
    from harness.distributed import barrier, init

    torch.set_num_threads(1)
    d = init()
    saves = []
    save = ck.save_atomic
    ck.save_atomic = lambda path, state: (saves.append(int(state["epoch"])), save(path, state))[-1]
    ckpt = out.parent / f"{out.name}.ckpt" / "cell.pt"
    if d.main:
        ckpt.parent.mkdir(parents=True)
        ckpt.write_bytes(b"not a checkpoint")
    barrier(d)
    result: dict[str, Any] = {"world": d.world, "rank": d.rank, "whole": _fit(EPOCHS, None)}
    result["first"] = _fit(1, ckpt)  # moves the corrupt file aside (rank 0), trains 1 epoch, saves it
    result["resumed"] = _fit(EPOCHS, ckpt)  # continues at epoch 1; the full recipe deletes the file
    result["saves"] = saves
    result["left"] = sorted(p.name for p in ckpt.parent.iterdir())
    Path(f"{out}.{d.rank}.json").write_text(json.dumps(result))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
