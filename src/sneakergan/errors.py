"""User-facing errors: the CLI prints their message (no traceback) and exits with status 2."""


class SneakerganError(Exception):
    """A problem the user can fix: bad input, bad option, missing file.

    A message may name the parameters it is about as `{name}` placeholders, listed in `names`: the
    library's callers read the parameter's name (`label`), the command line the option that sets it
    (`--label`, see `option_name`), so library code never speaks in flag names."""

    def __init__(self, message: str, names: tuple[str, ...] = ()) -> None:
        self.template, self.names = message, names
        super().__init__(self.render(lambda name: name))

    def render(self, spell) -> str:
        """The message with each named parameter spelt by `spell(name)`."""
        text = self.template
        for name in self.names:
            text = text.replace("{" + name + "}", spell(name))
        return text


def option_name(parameter: str) -> str:
    """The command-line option that sets a library parameter: sr_run -> --sr-run."""
    return "--" + parameter.replace("_", "-")


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


def one_line(exc: BaseException, command_line: bool = False) -> str:
    """An exception's message on one line (PyTorch's state-dict errors span several), for an error that wraps
    it; `command_line`: parameters spelt as the options that set them."""
    text = exc.render(option_name) if command_line and isinstance(exc, SneakerganError) else str(exc)
    return "; ".join(line.strip() for line in text.splitlines() if line.strip()) or type(exc).__name__
