"""User-facing errors: the CLI prints their message (no traceback) and exits with status 2."""


class SneakerganError(Exception):
    """A problem the user can fix: bad input, bad option, missing file."""


class DataError(SneakerganError):
    """No usable images, an unreadable dataset path, or a broken cache."""


class ConfigError(SneakerganError):
    """Unknown preset, unknown or badly typed config field."""


class RunDirError(SneakerganError):
    """A run folder that is missing, incomplete, or would be overwritten."""


class FeatureNetworkError(SneakerganError):
    """The FID feature network is missing, not the expected file, or cannot be loaded."""


class TrainingError(SneakerganError):
    """Training cannot go on: non-finite losses that skipped steps and rollbacks did not cure."""


def one_line(exc: BaseException) -> str:
    """An exception's message on one line (PyTorch's state-dict errors span several), for an error that wraps it."""
    return "; ".join(line.strip() for line in str(exc).splitlines() if line.strip()) or type(exc).__name__
