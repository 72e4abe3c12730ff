"""Finding dataset files: the data directory, the user cache, or a verified download.

Each file is looked up, in order, in

1. `$FASTCONV_DATA/<dataset>/` (e.g. `$FASTCONV_DATA/mnist/train-images-idx3-ubyte.gz`),
2. the cache, `$FASTCONV_HOME/datasets/<dataset>/` with `FASTCONV_HOME`
   defaulting to `~/.fastconv`,
3. the dataset's public mirrors, in order: the file is downloaded into the
   cache as a temporary file next to its final name, its MD5 checked, and
   only then renamed into place (`os.replace`), so an interrupted or corrupt
   download never leaves a file behind.
"""

import hashlib
import os
import tempfile
import urllib.request

_CHUNK = 1 << 20


class DatasetNotFoundError(OSError):
    """The dataset's files are not on disk and could not be downloaded."""


class ChecksumError(ValueError):
    """A downloaded file's MD5 did not match the published one."""


def data_dir(name):
    """`$FASTCONV_DATA/<name>`, or None when FASTCONV_DATA is unset."""
    root = os.environ.get("FASTCONV_DATA")
    return os.path.join(os.path.expanduser(root), name) if root else None


def cache_dir(name):
    """`$FASTCONV_HOME/datasets/<name>` (FASTCONV_HOME defaults to ~/.fastconv)."""
    home = os.environ.get("FASTCONV_HOME") or os.path.join(os.path.expanduser("~"), ".fastconv")
    return os.path.join(home, "datasets", name)


def fetch(url, out, timeout=60):
    """Writes the bytes at `url` to the binary file object `out`.

    Tests replace this function to serve files without a network.
    """
    with urllib.request.urlopen(url, timeout=timeout) as response:
        while True:
            chunk = response.read(_CHUNK)
            if not chunk:
                break
            out.write(chunk)


def md5_of(path):
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _download(filename, md5, mirrors, directory):
    """Downloads `filename` from the first mirror that serves it intact."""
    os.makedirs(directory, exist_ok=True)
    target = os.path.join(directory, filename)
    failures = []
    for base in mirrors:
        url = base + filename
        fd, partial = tempfile.mkstemp(prefix=f".{filename}.", suffix=".part", dir=directory)
        try:
            with os.fdopen(fd, "wb") as out:
                fetch(url, out)
            found = md5_of(partial)
            if found != md5:
                failures.append((url, ChecksumError(f"MD5 {found}, expected {md5}")))
                continue
            os.replace(partial, target)
            return target
        except Exception as exc:  # network, HTTP, disk: try the next mirror
            failures.append((url, exc))
        finally:
            if os.path.exists(partial):
                os.remove(partial)
    reasons = "; ".join(f"{url}: {exc}" for url, exc in failures)
    if any(isinstance(exc, ChecksumError) for _, exc in failures):
        raise ChecksumError(f"Downloaded {filename} is corrupt (checksum mismatch): {reasons}")
    raise DatasetNotFoundError(f"Could not download {filename}: {reasons}")


def locate(name, files, mirrors):
    """Paths of `files` (a dict filename -> MD5) for dataset `name`, downloading what is missing.

    Raises:
        DatasetNotFoundError: if a file is on no disk location and every
            mirror failed; the message lists the missing files and where to
            put them.
        ChecksumError: if a mirror served a file whose MD5 does not match.
    """
    directories = [d for d in (data_dir(name), cache_dir(name)) if d]
    paths, missing = {}, []
    for filename in files:
        found = next((os.path.join(d, filename) for d in directories
                      if os.path.isfile(os.path.join(d, filename))), None)
        if found:
            paths[filename] = found
        else:
            missing.append(filename)
    errors = []
    for filename in missing:
        try:
            paths[filename] = _download(filename, files[filename], mirrors, cache_dir(name))
        except DatasetNotFoundError as exc:
            errors.append(str(exc))
        except OSError as exc:  # cache directory not writable, ...
            errors.append(f"{filename}: {exc}")
    if errors:
        still_missing = [f for f in files if f not in paths]
        where = (f"$FASTCONV_DATA/{name}/ (FASTCONV_DATA={os.environ.get('FASTCONV_DATA')!r})"
                 if os.environ.get("FASTCONV_DATA") else f"$FASTCONV_DATA/{name}/ (FASTCONV_DATA is unset)")
        raise DatasetNotFoundError(
            f"The {name} dataset is missing {len(still_missing)} file(s): {', '.join(still_missing)}. "
            f"Looked in {where} and {cache_dir(name)}/, and the download failed "
            f"({' | '.join(errors)}). Put the four .gz files in a directory <dir>/{name}/ and set "
            f"FASTCONV_DATA=<dir>, or copy them into {cache_dir(name)}/."
        )
    return [paths[filename] for filename in files]
