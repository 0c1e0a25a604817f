"""The development signing key under .data/: generated once, the same for every worker."""

from __future__ import annotations

import threading
from pathlib import Path

from shared.auth.tokens import dev_signing_key


def test_workers_starting_at_once_share_one_key(tmp_path) -> None:
    barrier, keys = threading.Barrier(8), []

    def start() -> None:
        barrier.wait()
        keys.append(dev_signing_key(tmp_path))

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(keys) == 8 and len(set(keys)) == 1 and keys[0].startswith("k4.secret.")
    assert [p.name for p in tmp_path.iterdir()] == ["token_signing_key"]  # nothing left aside
    assert (tmp_path / "token_signing_key").stat().st_mode & 0o777 == 0o600


def test_a_key_written_by_another_worker_meanwhile_is_the_key(tmp_path, monkeypatch) -> None:
    """The race that crashed a second worker (FileExistsError): the key appears between the
    check and the write."""
    first = dev_signing_key(tmp_path / "other")
    (tmp_path / "token_signing_key").write_text(first)
    monkeypatch.setattr(Path, "exists", lambda self: False)
    assert dev_signing_key(tmp_path) == first
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other", "token_signing_key"]


def test_the_key_is_kept_across_starts(tmp_path) -> None:
    assert dev_signing_key(tmp_path) == dev_signing_key(tmp_path)
