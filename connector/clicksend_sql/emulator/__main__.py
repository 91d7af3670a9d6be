"""``python -m clicksend_sql.emulator``: the same command as ``clicksend-sql emulator``."""

from .cli import emulator_command

if __name__ == "__main__":
    emulator_command(prog_name="python -m clicksend_sql.emulator")
