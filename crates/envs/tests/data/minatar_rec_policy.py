# MinAtar reference trajectories under scripted policies (minatar 1.0.15), the companion of the
# shared data set's generators/minatar_rec.py: the same recording (Environment(game,
# sticky_action_prob=0.1, difficulty_ramping=RAMPING), env.seed(seed), env.reset(); episodes go on
# with a plain env.reset(), no re-seeding; state after each step as np.packbits(state.reshape(-1))
# hex, C order y, x, channel), but the actions come from a simple hand-written policy per game that
# reads the game's internals (so that play reaches what random actions rarely do: cleared waves
# and walls of bricks, enemies running into shots, divers picked up, surfacing, the difficulty
# ramp), with a random action (numpy RandomState(1000 + seed).randint(6)) when that generator's
# rand() < EPS. Adds two columns: `ramping` (0/1) and `ramp`, env.env.difficulty_ramp() after the
# step (empty for None).
# Usage: minatar_rec_policy.py OUT GAME:SEED:STEPS:RAMPING:EPS ...
import copy, sys, numpy as np
from minatar import Environment

def toward(cur, target, less, more):
    return less if target < cur else more if target > cur else 0

def breakout(e):
    # Go to where the ball will be when it comes down to row 8 (a copy of the game is run ahead
    # with the paddle standing still).
    sim = copy.deepcopy(e)
    for _ in range(40):
        if sim.terminal or (sim.ball_y == 8 and sim.ball_dir in (2, 3)):
            break
        sim.act(0)
    return toward(e.pos, sim.ball_x, 1, 3)

def space_invaders(e):
    # Keep away from falling enemy bullets (the lowest one in a column is its threat); fire up an
    # alien column when the gun is ready, else move towards the nearest alien column.
    def threat(c):
        rows = np.nonzero(e.e_bullet_map[:, c])[0]
        return rows.max() if len(rows) else -1
    moves = [(a, c) for a, c in ((0, e.pos), (1, e.pos - 1), (3, e.pos + 1)) if 0 <= c <= 9]
    if threat(e.pos) >= 4:
        return min(moves, key=lambda m: threat(m[1]))[0]
    if e.shot_timer == 0:
        # Fire if a copy of the game, firing now and then standing still, scores.
        sim = copy.deepcopy(e)
        r, term = sim.act(5)
        for _ in range(10):
            if r or term:
                break
            r, term = sim.act(0)
        if r and not term:
            return 5
    cols = [c for c in range(10) if e.alien_map[:, c].any()]
    if np.count_nonzero(e.alien_map) <= 3 or not cols:
        return 0
    target = min(cols, key=lambda c: (abs(c - e.pos), c))
    if target == e.pos:
        return 0
    a, c = (1, e.pos - 1) if target < e.pos else (3, e.pos + 1)
    return a if threat(c) < 6 else 0

def seaquest(e):
    # Surface when oxygen runs low (with a diver) or with 6 divers; else chase the nearest diver's
    # lane, or face the nearest enemy in the lane and fire.
    if e.sub_y > 0 and ((e.oxygen < 40 and e.diver_count > 0) or e.diver_count >= 6):
        return 2
    if e.sub_y == 0:
        return 4
    if e.divers and e.diver_count < 6:
        d = min(e.divers, key=lambda d: abs(d[1] - e.sub_y) + abs(d[0] - e.sub_x))
        if d[1] != e.sub_y:
            return 2 if d[1] < e.sub_y else 4
        return toward(e.sub_x, d[0], 1, 3)
    enemies = [z for z in e.e_subs + e.e_fish if z[1] == e.sub_y]
    if enemies:
        z = min(enemies, key=lambda z: abs(z[0] - e.sub_x))
        facing = (z[0] > e.sub_x) == bool(e.sub_or)
        return 5 if facing else (3 if z[0] > e.sub_x else 1)
    others = e.e_subs + e.e_fish
    if others:
        return 2 if others[0][1] < e.sub_y else 4
    return 0

def asterix(e):
    # Step out of the row of an enemy coming close, towards gold.
    for z in e.entities:
        if z is not None and z[1] == e.player_y and not z[3] and abs(z[0] - e.player_x) <= 2:
            return 2 if e.player_y > 1 else 4
    golds = [z for z in e.entities if z is not None and z[3]]
    if golds:
        g = golds[0]
        if g[1] != e.player_y:
            return 2 if g[1] < e.player_y else 4
        return toward(e.player_x, g[0], 1, 3)
    return 0

def freeway(e):
    return 2

POLICY = dict(breakout=breakout, space_invaders=space_invaders, seaquest=seaquest, asterix=asterix, freeway=freeway)

def ramp(env):
    r = env.env.difficulty_ramp()
    return "" if r is None else str(r)

out = sys.argv[1]
rows = ["game,seed,ramping,t,episode,action,reward,terminal,ramp,state_hex"]
for spec in sys.argv[2:]:
    g, s, n, ramping, eps = spec.split(":")
    s, n, ramping, eps = int(s), int(n), int(ramping), float(eps)
    env = Environment(g, sticky_action_prob=0.1, difficulty_ramping=bool(ramping))
    env.seed(s); env.reset()
    arng = np.random.RandomState(1000 + s)
    ep = 0
    hexs = lambda: np.packbits(env.state().reshape(-1)).tobytes().hex()
    rows.append(f"{g},{s},{ramping},0,0,,,,{ramp(env)},{hexs()}")
    for t in range(1, n + 1):
        a = int(arng.randint(6)) if arng.rand() < eps else POLICY[g](env.env)
        r, term = env.act(a)
        rows.append(f"{g},{s},{ramping},{t},{ep},{a},{float(r)},{int(term)},{ramp(env)},{hexs()}")
        if term:
            env.reset(); ep += 1
            rows.append(f"{g},{s},{ramping},{t},{ep},,,,{ramp(env)},{hexs()}")
open(out, "w").write("\n".join(rows) + "\n")
print(out, len(rows) - 1)
