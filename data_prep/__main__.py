"""Command line: ``python -m data_prep {DATASET|all|synthetic} ...`` (see ``--help``)."""

from __future__ import annotations

import argparse
import errno
import sys
import time
from pathlib import Path

from asnet_keras.io.atomic_files import OutputWriteError

from .datasets import MODULES
from .report import summary_table

NO_ROOM = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EFBIG)

EPILOG = """examples:
  python -m data_prep pascal-s --src ~/Downloads/salObj.zip --dst data
  python -m data_prep dut-omron --src ~/raw/DUT-OMRON --dst data
  python -m data_prep all --src ~/raw --dst data
  python -m data_prep synthetic --dst data --n 40 --size 96

--src may be the folder holding the downloaded archives and/or their unpacked folders,
or a single archive (.zip or .rar; .rar is read with libarchive-c, installed by
'make setup', or rarfile plus unrar/unar/bsdtar). Archives are extracted into
DST/.extract/DATASET (kept, so a re-run does not extract again; delete it when done).
For 'all', RAW_ROOT holds one entry per dataset, named after it (folder or archive;
e.g. salicon/, MSRA10K_Imgs_GT.zip or thus10k/, DUT-OMRON/, salObj.zip or pascal-s/,
mit1003/, ecssd/, HKU-IS.rar or HKU-IS/, duts/). See data_prep/README.md for the
exact files to download.

exit status: 0 ok; 1 some files were rejected (listed, and in meta.json) and
--allow-rejects was not given, or SALICON 2017 density maps had to be computed because
maps.zip is absent and --allow-computed-maps was not given; 2 a dataset could not be
prepared (layout or archive error, or an output could not be written completely, e.g. a
full disk: the files already written stay valid and a re-run completes them) or nothing
was found."""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m data_prep",
        description="Convert saliency datasets, as their authors distribute them, into the "
                    "prepared layout that training and evaluation read "
                    "(DST/<dataset>/<split>/{images,masks,fixpts,fixmaps}, list.txt, "
                    "fixations.npz, DST/<dataset>/meta.json).",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dataset", choices=[*MODULES, "all", "synthetic"],
                   help="which dataset to prepare; 'all' = every dataset found under --src; "
                        "'synthetic' = generate the small synthetic dataset (no --src)")
    p.add_argument("--src", type=Path, help="raw dataset folder or archive (RAW_ROOT for 'all')")
    p.add_argument("--dst", type=Path, required=True, help="DATA_ROOT of the prepared tree")
    p.add_argument("--allow-rejects", action="store_true",
                   help="exit 0 even if some files were rejected (they are still listed)")
    p.add_argument("--allow-computed-maps", action="store_true",
                   help="SALICON 2017 only: exit 0 even though maps.zip (the official density "
                        "maps) is absent and the maps were computed (Gaussian sigma = 19 px)")
    p.add_argument("--edition", choices=["2015", "2017"],
                   help="SALICON only: which edition's fixations to use (default: the one "
                        "found, recognised by content; needed when both are there)")
    p.add_argument("--work", type=Path,
                   help="where archives are extracted (default DST/.extract/DATASET; "
                        "for 'all', WORK/DATASET)")
    p.add_argument("--workers", type=int, default=None,
                   help="decoding threads (default: number of CPUs, at most 8); output is the same")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars or warnings")
    g = p.add_argument_group("synthetic")
    g.add_argument("--n", type=int, default=40, help="train images per source (default 40)")
    g.add_argument("--n-test", type=int, default=None, help="test images (default: --n)")
    g.add_argument("--size", type=int, default=128, help="longer image side in px (default 128)")
    g.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    return p


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except OutputWriteError as error:  # full disk: the files written so far are complete
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        if error.errno not in NO_ROOM:
            raise
        print(f"error: {error.filename or '--dst'}: {error.strerror} while extracting or "
              "writing; free some space and run the same command again.", file=sys.stderr)
        return 2


def _run(args) -> int:
    t0 = time.time()
    if args.dataset == "synthetic":
        from .synthetic import make_synthetic
        make_synthetic(args.dst, n=args.n, size=args.size, seed=args.seed, n_test=args.n_test,
                       quiet=args.quiet)
        print(f"synthetic datasets written to {args.dst} ({time.time() - t0:.1f} s)")
        return 0
    if args.src is None:
        print("error: --src is required (the raw dataset folder or archive)", file=sys.stderr)
        return 2
    from .runner import prepare, prepare_all
    missing = []
    if args.dataset == "all":
        reports, missing = prepare_all(args.src, args.dst, work=args.work, quiet=args.quiet,
                                       edition=args.edition, workers=args.workers)
    else:
        reports = [prepare(args.dataset, args.src, args.dst, work=args.work, quiet=args.quiet,
                           edition=args.edition, workers=args.workers)]
    status = 0
    print()
    if reports:
        print(summary_table(reports))
    for rep in reports:
        if rep.fatal:
            print(f"\n[{rep.dataset}] NOT PREPARED: {rep.fatal}", file=sys.stderr)
            status = 2
        if rep.rejects:
            print(f"\n[{rep.dataset}] {len(rep.rejects)} rejected:", file=sys.stderr)
            for r in rep.rejects:
                print(f"  {r['split']}: {r['file']}: {r['reason']}", file=sys.stderr)
            if not args.allow_rejects:
                status = max(status, 1)
        if rep.computed_maps:
            print(f"\n[{rep.dataset}] official density maps not found for "
                  f"{', '.join(rep.computed_maps)}: maps.zip is absent, so the maps were computed "
                  "(Gaussian sigma = 19 px), which changes the fixation targets. Put maps.zip "
                  "beside the other archives and re-run"
                  + (" (accepted: --allow-computed-maps)" if args.allow_computed_maps
                     else ", or re-run with --allow-computed-maps to accept the computed maps"),
                  file=sys.stderr)
            if not args.allow_computed_maps:
                status = max(status, 1)
        for kind, names in sorted(rep.repairs.items()):
            print(f"[{rep.dataset}] repaired {len(names)}: {kind}")
        if rep.io:
            print(f"[{rep.dataset}] files written {rep.io['written']}, "
                  f"verified unchanged {rep.io['verified']}")
    if missing:
        print("\nnot found under", args.src, "(put each in a folder named after the dataset):")
        for name in missing:
            print(f"  {name:10s} {MODULES[name].DOWNLOAD}")
    if args.dataset == "all" and not reports:
        print(f"error: no dataset found under {args.src}", file=sys.stderr)
        status = 2
    if any(rep.rejects for rep in reports) and not args.allow_rejects:
        print("\nsome inputs were rejected (see above and meta.json); "
              "re-run with --allow-rejects to accept the result", file=sys.stderr)
    print(f"done in {time.time() - t0:.1f} s")
    return status


if __name__ == "__main__":
    sys.exit(main())
