"""TokenDecoder with 10 training steps (session 31): torch's OneCycleLR divided by a warm-up phase of length
0.1 * 10 - 1 = 0, so `fit` (and `fine_tune` with 10 steps) crashed with ZeroDivisionError."""

import numpy as np
import torch
from wavegraph.models.token_decoder import TokenDecoder, warmup_share


def test_every_step_count_gets_a_schedule_torch_accepts():
    for steps in range(1, 200):
        p = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.AdamW([p], lr=1e-3)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, 1e-3, total_steps=steps, pct_start=warmup_share(steps))
        for _ in range(steps):
            opt.step()
            sched.step()


def test_a_decoder_of_ten_steps_fits_and_fine_tunes():
    rng = np.random.default_rng(0)
    X = 1e-5 * rng.standard_normal((8, 3, 400))  # 2 s trials at 200 Hz
    y = np.array([0, 1] * 4)
    dec = TokenDecoder(200.0, ["O1", "Oz", "O2"], [9.0, 13.0], seed=0, steps=10, batch=4, fine_tune_steps=10)
    dec.fit(X, y)
    dec.fine_tune(X, y)
    assert dec.net is not None
    assert set(dec.predict(X).tolist()) <= {0, 1}
