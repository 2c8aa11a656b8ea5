"""`asnet prepare`: datasets as their authors distribute them → the prepared layout.

    asnet prepare pascal-s --src ~/Downloads/salObj.zip --dst data/prepared
    asnet prepare all --src ~/raw --dst data/prepared    # every dataset found under ~/raw
    asnet prepare synthetic --dst data/prepared          # the built-in synthetic datasets

One sub-command per dataset of `data_prep.datasets.MODULES`, plus `all` and `synthetic`;
the work is `data_prep.runner` and `data_prep.synthetic` (the layout: docs/datasets.md
§10; the downloads: data_prep/README.md). Nothing here loads TensorFlow.

Exit status: 0 prepared; 1 some inputs failed: a dataset could not be prepared (layout or
archive error), files were rejected (without --allow-rejects), SALICON 2017's density
maps had to be computed (without --allow-computed-maps), or an output could not be
written completely (a full disk: what is written stays valid and the same command
completes it); 2 usage error (--src does not exist, or holds no dataset).
"""

import argparse
import sys
import time
from pathlib import Path

from asnet_keras.commands import CommandFailed, UsageError, number, positive, run_command
from asnet_keras.io.atomic_files import OutputWriteError, is_no_room
from data_prep.datasets import MODULES
from data_prep.report import review, summary_table
from data_prep.runner import prepare, prepare_all
from data_prep.synthetic import make_synthetic

EPILOG = """examples:
  asnet prepare pascal-s --src ~/Downloads/salObj.zip --dst data
  asnet prepare dut-omron --src ~/raw/DUT-OMRON --dst data
  asnet prepare all --src ~/raw --dst data
  asnet prepare synthetic --dst data --n 40 --size 96

--src may be the folder holding the downloaded archives and/or their unpacked folders,
or a single archive (.zip or .rar; .rar is read with libarchive-c, installed by
'make setup', or rarfile plus unrar/unar/bsdtar). Archives are extracted into
DST/.extract/DATASET (kept, so a re-run does not extract again; delete it when done).
For 'all', --src holds one entry per dataset, named after it (folder or archive; e.g.
salicon/, MSRA10K_Imgs_GT.zip or thus10k/, DUT-OMRON/, salObj.zip or pascal-s/,
mit1003/, ecssd/, HKU-IS.rar or HKU-IS/, duts/). See data_prep/README.md for the exact
files to download; `asnet prepare DATASET --help` for one dataset's.

exit status: 0 prepared; 1 some inputs failed: a dataset could not be prepared (layout
or archive error), some files were rejected (listed, and in meta.json) and
--allow-rejects was not given, SALICON 2017 density maps had to be computed because
maps.zip is absent and --allow-computed-maps was not given, or an output could not be
written completely (e.g. a full disk: the files already written stay valid and a re-run
completes them); 2 usage error (--src does not exist or holds no dataset)."""


def _raw_options(parser, salicon, src_help="the download: a folder or an archive"):
    """The options of a sub-command that reads downloads; `salicon`: SALICON's too."""
    parser.add_argument("--src", type=Path, required=True, help=src_help)
    parser.add_argument("--dst", type=Path, required=True, help="DATA_ROOT of the prepared tree")
    parser.add_argument("--allow-rejects", action="store_true",
                        help="exit 0 even if some files were rejected (they are still listed)")
    if salicon:
        parser.add_argument("--allow-computed-maps", action="store_true",
                            help="SALICON 2017: exit 0 even though maps.zip (the official "
                            "density maps) is absent and the maps were computed (Gaussian "
                            "sigma = 19 px)")
        parser.add_argument("--edition", choices=["2015", "2017"],
                            help="SALICON: which edition's fixations to use (default: the one "
                            "found, recognised by content; needed when both are there)")
    parser.add_argument("--work", type=Path,
                        help="where archives are extracted (default DST/.extract/DATASET; "
                        "for 'all', WORK/DATASET)")
    parser.add_argument("--workers", type=positive(int), default=None,
                        help="decoding threads (default: number of CPUs, at most 8); output "
                        "is the same")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars or warnings")


def build_parser():
    """The argparse parser of `asnet prepare` and its sub-commands."""
    parser = argparse.ArgumentParser(
        prog="asnet prepare",
        description="Convert saliency datasets, as their authors distribute them, into the\n"
                    "prepared layout that training and evaluation read:\n"
                    "DST/<dataset>/<split>/{images,masks,fixpts,fixmaps}, list.txt,\n"
                    "fixations.npz, and DST/<dataset>/meta.json.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    datasets = parser.add_subparsers(dest="dataset", metavar="DATASET", required=True,
                                     title="datasets (one sub-command each)")
    for name, module in MODULES.items():
        one = datasets.add_parser(
            name, help=f"download: {module.DOWNLOAD}",
            description=f"Prepare {name} from its download: {module.DOWNLOAD}. See "
            "data_prep/README.md for the files.")
        _raw_options(one, salicon=name == "salicon")
    _raw_options(datasets.add_parser(
        "all", help="every dataset found under --src, one folder or archive each, named "
        "after it", description="Prepare every dataset found under --src; list the others "
        "with where to download them."), salicon=True,
        src_help="the folder holding one folder or archive per dataset, named after it")
    synthetic = datasets.add_parser(
        "synthetic", help="the built-in synthetic datasets (no download)",
        description="Write synthetic-fix, synthetic-sod and synthetic-both: scenes with "
        "fixations, masks or both, like the paper's training mix (data_prep/synthetic.py).")
    synthetic.add_argument("--dst", type=Path, required=True, help="DATA_ROOT of the prepared tree")
    synthetic.add_argument("--n", type=positive(int), default=40,
                           help="train images per source (default 40)")
    synthetic.add_argument("--n-test", type=positive(int), default=None,
                           help="test images (default: --n)")
    synthetic.add_argument("--size", type=number(int, 16), default=128,
                           help="longer image side in px, at least 16 (default 128)")
    synthetic.add_argument("--seed", type=number(int, 0), default=0,
                           help="random seed (default 0)")
    synthetic.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    return parser


def run(args):
    """Prepare what the arguments name; 1 if some inputs failed (each named on stderr)."""
    try:
        return _prepare(args)
    except OSError as error:  # a full disk while extracting (OutputWriteError says it itself)
        if isinstance(error, OutputWriteError) or not is_no_room(error):
            raise
        raise CommandFailed(
            f"{getattr(error, 'filename', None) or '--dst'}: {error.strerror or error} while "
            "extracting or writing; free some space and run the same command again "
            "(it completes what is written).") from error


def _prepare(args):
    t0 = time.time()
    if args.dataset == "synthetic":
        make_synthetic(args.dst, n=args.n, size=args.size, seed=args.seed, n_test=args.n_test,
                       quiet=args.quiet)
        print(f"synthetic datasets written to {args.dst} ({time.time() - t0:.1f} s)")
        return 0
    if not args.src.exists():
        raise UsageError(f"--src {args.src}: no such file or folder")
    options = dict(work=args.work, quiet=args.quiet, edition=getattr(args, "edition", None),
                   workers=args.workers)
    missing = []
    if args.dataset == "all":
        reports, missing = prepare_all(args.src, args.dst, **options)
        if not reports:
            raise UsageError(f"--src {args.src}: no dataset found there (put each in a "
                             "folder or archive named after it; see asnet prepare --help)")
    else:
        reports = [prepare(args.dataset, args.src, args.dst, **options)]
    lines, failed = review(reports, args.allow_rejects, getattr(args, "allow_computed_maps", False))
    print()
    print(summary_table(reports))
    for problem, text in lines:
        print(text, file=sys.stderr if problem else sys.stdout)
    if missing:
        print("\nnot found under", args.src, "(put each in a folder named after the dataset):")
        for name in missing:
            print(f"  {name:10s} {MODULES[name].DOWNLOAD}")
    print(f"done in {time.time() - t0:.1f} s")
    return 1 if failed else 0


def main(argv=None):
    """`asnet prepare`; returns the exit status (asnet_keras.commands.run_command)."""
    return run_command(argv, build_parser, run)
