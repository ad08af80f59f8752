"""Reference projections for C51 (Bellemare et al. 2017, Algorithm 1), in numpy float64.

Writes c51_projection_cases.csv: one row per case with the support (v_min, v_max, atoms), the
reward, the discount (gamma^m, or 0 for a terminal), the next-state distribution p (space-
separated) and two projections of r + discount * z under p:

- `expected`: Algorithm 1 with the one-line fix every implementation needs, an atom landing
  exactly on a support point (b = l = u) keeps its mass (m_l += p_j);
- `printed_mass`: the total mass Algorithm 1 keeps as printed (m_l += p_j (u - b) and
  m_u += p_j (b - l) only), which is below 1 whenever some b_j is a whole number.

Run: python c51_projection_ref.py  (numpy; the CSV is committed beside this script and read by
crates/agent/tests/c51_projection.rs).
"""
import csv
import numpy as np

SUPPORTS = [(-10.0, 10.0, 51), (-100.0, 100.0, 51), (0.0, 200.0, 51), (-2.0, 2.0, 5)]
REWARDS = [0.0, 1.0, -1.0, 0.37, 4.0, -250.0, 250.0]
DISCOUNTS = [0.0, 0.99, 0.97 ** 3, 1.0]


def project(v_min, v_max, atoms, reward, discount, p, fixed=True):
    z = np.linspace(v_min, v_max, atoms)
    dz = (v_max - v_min) / (atoms - 1)
    m = np.zeros(atoms)
    for j in range(atoms):
        tz = min(max(reward + discount * z[j], v_min), v_max)
        b = (tz - v_min) / dz
        lo, up = int(np.floor(b)), int(np.ceil(b))
        if fixed and lo == up:
            m[lo] += p[j]
            continue
        m[lo] += p[j] * (up - b)
        m[up] += p[j] * (b - lo)
    return m


def main():
    rng = np.random.default_rng(20261207)
    with open("c51_projection_cases.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["v_min", "v_max", "atoms", "reward", "discount", "p", "expected", "printed_mass"])
        for v_min, v_max, atoms in SUPPORTS:
            for reward in REWARDS:
                for discount in DISCOUNTS:
                    logits = rng.normal(size=atoms) * 2.0
                    p = np.exp(logits - logits.max())
                    p /= p.sum()
                    p = p.astype(np.float32).astype(np.float64)  # what the f32 side reads
                    m = project(v_min, v_max, atoms, reward, discount, p)
                    printed = project(v_min, v_max, atoms, reward, discount, p, fixed=False)
                    w.writerow([v_min, v_max, atoms, repr(reward), repr(discount),
                                " ".join(repr(float(x)) for x in p),
                                " ".join(repr(float(x)) for x in m),
                                repr(float(printed.sum()))])


if __name__ == "__main__":
    main()
