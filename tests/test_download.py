"""xling data get against a local HTTP server on 127.0.0.1 (no internet): Range resume after a cut
connection, Content-Length and SHA-256 checks, 404, bad URLs, the cache folder, --max-vocab."""
from __future__ import annotations

import gzip
import hashlib
import http.server
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from xling.data.download import (
    DictSplit,
    DownloadError,
    VecKind,
    VecSource,
    cache_dir,
    dictionary_url,
    download,
    fetch_dictionary,
    fetch_vectors,
    vectors_url,
)

DICT = "".join(f"word{i} mot{i}\n" for i in range(3000)).encode()
VEC_ROWS = [(f"w{i}", np.arange(4, dtype=np.float32) + i) for i in range(50)]
VEC = ("50 4\n" + "".join(f"{w} " + " ".join(f"{x:g}" for x in v) + "\n" for w, v in VEC_ROWS)).encode()


class _Server:
    """Serves ``files`` (path -> bytes); honours Range; the first ``cut[path]`` requests of a path send
    the right Content-Length and close the connection halfway."""

    def __init__(self, files: dict[str, bytes]):
        self.files = files
        self.cut: dict[str, int] = {}
        self.ranges: list[str | None] = []
        self.ignore_range = False
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                body = outer.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                rng = self.headers.get("Range")
                outer.ranges.append(rng)
                start = 0
                if rng and not outer.ignore_range:
                    start = int(rng.split("=")[1].split("-")[0])
                    if start >= len(body):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(body)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                chunk = body[start:]
                self.send_header("Content-Length", str(len(chunk)))
                self.end_headers()
                if outer.cut.get(self.path, 0) > 0:
                    outer.cut[self.path] -= 1
                    self.wfile.write(chunk[:len(chunk) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(chunk)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = _Server({
        "/arrival/dictionaries/en-fr.txt": DICT,
        "/arrival/dictionaries/en-fr.0-5000.txt": DICT[:1000],
        "/arrival/dictionaries/en-fr.5000-6500.txt": DICT[1000:2000],
        "/fasttext/vectors-wiki/wiki.fr.vec": VEC,
        "/fasttext/vectors-crawl/cc.fr.300.vec.gz": gzip.compress(VEC, mtime=0),
        "/fasttext/vectors-crawl/cc.fr.300.bin.gz": gzip.compress(b"model bytes" * 100, mtime=0),
    })
    yield s
    s.close()


def test_urls_follow_the_public_layout(monkeypatch):
    monkeypatch.delenv("XLING_MIRROR", raising=False)
    base = "https://dl.fbaipublicfiles.com"
    assert dictionary_url("en", "fr") == f"{base}/arrival/dictionaries/en-fr.txt"
    assert dictionary_url("en", "fr", DictSplit.train) == f"{base}/arrival/dictionaries/en-fr.0-5000.txt"
    assert dictionary_url("en", "fr", "test") == f"{base}/arrival/dictionaries/en-fr.5000-6500.txt"
    assert vectors_url("fi") == f"{base}/fasttext/vectors-wiki/wiki.fi.vec"
    assert vectors_url("fi", VecSource.crawl) == f"{base}/fasttext/vectors-crawl/cc.fi.300.vec.gz"
    assert vectors_url("fi", "crawl", VecKind.bin) == f"{base}/fasttext/vectors-crawl/cc.fi.300.bin.gz"
    monkeypatch.setenv("XLING_MIRROR", "http://mirror/x/")
    assert dictionary_url("en", "de") == "http://mirror/x/arrival/dictionaries/en-de.txt"
    with pytest.raises(Exception, match="zip"):
        vectors_url("fi", "wiki", "bin")
    with pytest.raises(Exception, match="not a language code"):
        dictionary_url("../etc", "fr")


def test_cache_dir_resolved_at_call_time(monkeypatch, tmp_path):
    monkeypatch.delenv("XLING_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "xling"
    monkeypatch.setenv("XLING_CACHE", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"
    monkeypatch.delenv("XLING_CACHE")
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "xling"


def test_download_all_splits_into_cache(server, monkeypatch, tmp_path):
    monkeypatch.setenv("XLING_CACHE", str(tmp_path))
    seen = []
    p = fetch_dictionary("en", "fr", base=server.url, progress=lambda d, t: seen.append((d, t)))
    assert p == tmp_path / "muse" / "en-fr.txt" and p.read_bytes() == DICT
    assert seen[-1] == (len(DICT), len(DICT)) and all(t == len(DICT) for _, t in seen)
    assert fetch_dictionary("en", "fr", "train", base=server.url).read_bytes() == DICT[:1000]
    assert fetch_dictionary("en", "fr", "test", base=server.url).read_bytes() == DICT[1000:2000]
    n = len(server.ranges)
    assert fetch_dictionary("en", "fr", base=server.url) == p and len(server.ranges) == n  # cached: no request
    assert not list(tmp_path.rglob("*.part"))


def test_resume_after_cut_connection(server, tmp_path):
    url = server.url + "/arrival/dictionaries/en-fr.txt"
    dest = tmp_path / "d.txt"
    server.cut["/arrival/dictionaries/en-fr.txt"] = 1
    with pytest.raises(DownloadError, match=r"connection cut after 24,390 of 48,780 bytes.*resume"):
        download(url, dest, retries=0)
    part = tmp_path / "d.txt.part"
    assert not dest.exists() and part.stat().st_size == len(DICT) // 2
    # the next call asks only for the rest
    download(url, dest, sha256=hashlib.sha256(DICT).hexdigest())
    assert dest.read_bytes() == DICT and not part.exists()
    assert server.ranges[-1] == f"bytes={len(DICT) // 2}-"
    # with retries, one call survives a cut
    server.cut["/arrival/dictionaries/en-fr.txt"] = 1
    dest2 = tmp_path / "e.txt"
    download(url, dest2, retries=1)
    assert dest2.read_bytes() == DICT and server.ranges[-1] == f"bytes={len(DICT) // 2}-"


def test_server_ignoring_range_restarts_and_complete_part_is_kept(server, tmp_path):
    url = server.url + "/arrival/dictionaries/en-fr.txt"
    (tmp_path / "a.txt.part").write_bytes(b"garbage that a 200 answer replaces")
    server.ignore_range = True
    assert download(url, tmp_path / "a.txt").read_bytes() == DICT
    server.ignore_range = False
    (tmp_path / "b.txt.part").write_bytes(DICT)  # complete already: the server answers 416
    assert download(url, tmp_path / "b.txt").read_bytes() == DICT


def test_checksum_mismatch_leaves_nothing(server, tmp_path):
    url = server.url + "/arrival/dictionaries/en-fr.txt"
    with pytest.raises(DownloadError, match="checksum mismatch"):
        download(url, tmp_path / "d.txt", sha256="0" * 64)
    assert list(tmp_path.iterdir()) == []


def test_404_and_bad_urls(server, tmp_path):
    with pytest.raises(DownloadError, match="HTTP 404.*no such file"):
        download(server.url + "/arrival/dictionaries/xx-yy.txt", tmp_path / "x.txt")
    with pytest.raises(DownloadError, match="not a URL"):
        download("htp:/nowhere", tmp_path / "x.txt")
    with pytest.raises(DownloadError, match="cannot connect"):
        download("http://127.0.0.1:9/x.txt", tmp_path / "x.txt", timeout=5)
    assert list(tmp_path.iterdir()) == []


def test_vectors_wiki_crawl_and_bin(server, tmp_path):
    from xling.data.vectors import load_embeddings

    p = fetch_vectors("fr", base=server.url, folder=tmp_path)
    assert p.name == "wiki.fr.vec" and p.read_bytes() == VEC
    g = fetch_vectors("fr", "crawl", base=server.url, folder=tmp_path)
    assert g.name == "cc.fr.300.vec.gz"
    emb = load_embeddings(str(g))
    assert list(emb.words[:2]) == ["w0", "w1"] and np.allclose(emb.vectors[3], np.arange(4) + 3)
    b = fetch_vectors("fr", "crawl", "bin", base=server.url, folder=tmp_path)
    assert b.name == "cc.fr.300.bin" and b.read_bytes() == b"model bytes" * 100
    assert not (tmp_path / "cc.fr.300.bin.gz").exists()


def _xling(*args, env=None):
    return subprocess.run([sys.executable, "-m", "xling.cli.main", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120)


def test_cli_get_dictionary_and_vectors_max_vocab(server, tmp_path):
    env = {"XLING_CACHE": str(tmp_path / "cache"), "XLING_MIRROR": server.url}
    r = _xling("data", "get", "dictionary", "en", "fr", "--split", "train", env=env)
    assert r.returncode == 0, r.stderr
    assert Path(r.stdout.strip()) == tmp_path / "cache" / "muse" / "en-fr.0-5000.txt"
    r = _xling("data", "get", "vectors", "fr", "--source", "crawl", "--max-vocab", "10", env=env)
    assert r.returncode == 0, r.stderr
    out = Path(r.stdout.strip())
    assert out == tmp_path / "cache" / "fasttext" / "cc.fr.300.10.npy"
    assert np.load(out).shape == (10, 4)


@pytest.mark.parametrize("args, message", [
    (["dictionary", "en", "xx"], "HTTP 404"),
    (["dictionary", "en", "fr", "--sha256", "ab" * 32], "checksum mismatch"),
    (["dictionary", "en", "fr", "--sha256", "abc"], "not 64 hexadecimal digits"),
    (["vectors", "fr", "--kind", "bin"], "zip"),
    (["dictionary", "en", "fr", "--base-url", "ftp2://x"], "not a URL"),
])
def test_cli_errors_are_one_line_exit_2(server, tmp_path, args, message):
    r = _xling("data", "get", *args, env={"XLING_CACHE": str(tmp_path), "XLING_MIRROR": server.url})
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in r.stderr
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_cli_cut_connection_is_one_line_and_resumes(server, tmp_path):
    env = {"XLING_CACHE": str(tmp_path), "XLING_MIRROR": server.url}
    server.cut["/arrival/dictionaries/en-fr.txt"] = 3  # more than the default retries
    r = _xling("data", "get", "dictionary", "en", "fr", env=env)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "connection cut" in r.stderr
    assert not (tmp_path / "muse" / "en-fr.txt").exists()
    r = _xling("data", "get", "dictionary", "en", "fr", env=env)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "muse" / "en-fr.txt").read_bytes() == DICT
