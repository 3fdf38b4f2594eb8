"""--force overwrites regular files only: never a device, a FIFO, a folder or a link."""

import os
import stat

import pytest

from effbench.cli import main
from effbench.errors import ConfigError
from effbench.store.files import check_output, file_kind, write_output


def test_force_replaces_a_regular_file(tmp_path):
    p = tmp_path / "out.txt"
    p.write_text("old\n")
    with pytest.raises(ConfigError, match="already exists; give another path or --force"):
        write_output(p, "new\n", force=False, option="--output")
    assert write_output(p, "new\n", force=True, option="--output") == p
    assert p.read_text() == "new\n"


def test_force_refuses_a_symlink_and_leaves_link_and_target(tmp_path):
    target = tmp_path / "precious.txt"
    target.write_text("keep\n")
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    with pytest.raises(ConfigError, match=r"is a symbolic link \(to '.*precious.txt'\); only regular files are overwritten, even with --force"):
        write_output(link, "new\n", force=True, option="--output")
    assert link.is_symlink() and target.read_text() == "keep\n"
    dangling = tmp_path / "dangling.txt"
    dangling.symlink_to(tmp_path / "nowhere")
    with pytest.raises(ConfigError, match="is a symbolic link"):
        write_output(dangling, "new\n", force=True, option="--output")
    assert dangling.is_symlink() and not (tmp_path / "nowhere").exists()


def test_force_refuses_a_fifo(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match="'.*pipe' is a FIFO; only regular files are overwritten"):
        check_output(fifo, True, "--json")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


@pytest.mark.skipif(not os.path.exists("/dev/null"), reason="no /dev/null on this system")
def test_force_refuses_a_device_and_it_stays_a_device(capsys):
    assert file_kind("/dev/null") == "character device"
    with pytest.raises(ConfigError, match="'/dev/null' is a character device"):
        write_output("/dev/null", "x", force=True, option="--output")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_force_refuses_a_directory(tmp_path):
    with pytest.raises(ConfigError, match="is a directory; give a file path"):
        write_output(tmp_path, "x", force=True, option="--output")


def test_stdout_still_works(capsys):
    assert write_output("-", "to stdout\n", force=True, option="--output") is None
    assert capsys.readouterr().out == "to stdout\n"


def test_report_force_onto_a_link_is_one_line_and_changes_nothing(tmp_path, capsys):
    from effbench.records import CandidateRecord
    from effbench.store.db import Store

    db = tmp_path / "r.sqlite"
    with Store(db) as store:
        run_id = store.create_run(suite="t", config={}, environment={}, task={}, effbench_version="0")
        store.add_candidate(run_id, CandidateRecord("m/torch", "m", "torch", status="ok"))
        store.finish_run(run_id, "complete")
    target = tmp_path / "keep.md"
    target.write_text("keep\n")
    link = tmp_path / "report.md"
    link.symlink_to(target)
    for args in (["report", run_id, "--format", "markdown", "-o", str(link), "--force"],
                 ["export", run_id, "-o", str(link), "--force"]):
        assert main(args + ["--db", str(db)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "is a symbolic link" in err[0], err
    assert link.is_symlink() and target.read_text() == "keep\n"


def test_figures_force_refuses_a_linked_figure(tmp_path):
    from effbench.report.figures import check_figures_dir

    target = tmp_path / "keep.png"
    target.write_bytes(b"png")
    figs = tmp_path / "figs"
    figs.mkdir()
    (figs / "quality_vs_cost.png").symlink_to(target)
    with pytest.raises(ConfigError, match="quality_vs_cost.png' is a symbolic link"):
        check_figures_dir(figs, force=True)
    assert target.read_bytes() == b"png"
