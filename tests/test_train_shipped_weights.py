"""`wavegraph train tokenizer --steps 100` (no --out) trained and wrote over the shipped tokenizer weights, inside the
installed package, without a word: every later `eeg_tokenizer` node and `bench tokenizer` used the new ones. The
shipped file is now replaced only when --out names it."""

import hashlib

import pytest
from wavegraph.benchmarks.tokenizer import WEIGHTS, train_main


def test_train_tokenizer_without_out_leaves_the_shipped_weights(capsys):
    assert WEIGHTS.exists()
    before = hashlib.sha256(WEIGHTS.read_bytes()).hexdigest()
    with pytest.raises(SystemExit) as e:
        train_main(["--steps", "1"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "without --out this would replace the shipped tokenizer" in err and f"--out {WEIGHTS}" in err
    assert hashlib.sha256(WEIGHTS.read_bytes()).hexdigest() == before
