//! Seaquest: the player's two-cell submarine shoots enemy fish and submarines (+1 each) that
//! cross the lanes, enemy submarines shoot back, and divers can be picked up (at most 6). Oxygen
//! runs down under water; surfacing with at least one diver refills it and costs a diver, and
//! surfacing with all 6 pays one point per tenth of oxygen left. Each surfacing raises the
//! difficulty (with ramping). The episode ends on contact with an enemy or enemy bullet, when
//! oxygen runs out, or when surfacing without a diver. Gauges for oxygen and divers sit on the
//! bottom row; a trail channel gives enemy and diver directions. Port of MinAtar 1.0.15's
//! `minatar/environments/seaquest.py`.
//!
//! The Python keeps entities in lists that it edits while walking them backwards with
//! `reversed()`, removing elements with `list.remove(value)`; [`ObjectList`] keeps exactly those
//! semantics (see there).

use serde::{Deserialize, Serialize};

use super::{Action, Frame, GameLogic, NumpyRandomState};

// Channels, in the order of the Python `channels` dict.
const SUB_FRONT: usize = 0;
const SUB_BACK: usize = 1;
const FRIENDLY_BULLET: usize = 2;
const TRAIL: usize = 3;
const ENEMY_BULLET: usize = 4;
const ENEMY_FISH: usize = 5;
const ENEMY_SUB: usize = 6;
const OXYGEN_GAUGE: usize = 7;
const DIVER_GAUGE: usize = 8;
const DIVER: usize = 9;

const MAX_OXYGEN: i32 = 200;
const INIT_SPAWN_SPEED: i32 = 20;
const DIVER_SPAWN_SPEED: i32 = 30;
const INIT_MOVE_INTERVAL: i32 = 5;
const SHOT_COOL_DOWN: i32 = 5;
const ENEMY_SHOT_INTERVAL: i32 = 10;
const DIVER_MOVE_INTERVAL: i32 = 5;

/// Something on the grid; `cell()` is the Python `obj[0:2]` (x, y).
trait OnGrid {
    fn cell(&self) -> (i32, i32);
}

/// A bullet, friendly or enemy: Python's `[x, y, direction]` (true: moving right).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Bullet {
    x: i32,
    y: i32,
    right: bool,
}

/// Python's `[x, y, lr, move_timer]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Fish {
    x: i32,
    y: i32,
    right: bool,
    move_timer: i32,
}

/// Python's `[x, y, lr, move_timer, shot_timer]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Sub {
    x: i32,
    y: i32,
    right: bool,
    move_timer: i32,
    shot_timer: i32,
}

/// Python's `[x, y, lr, move_timer]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Diver {
    x: i32,
    y: i32,
    right: bool,
    move_timer: i32,
}

macro_rules! on_grid {
    ($($t:ty),*) => {$(
        impl OnGrid for $t {
            fn cell(&self) -> (i32, i32) {
                (self.x, self.y)
            }
        }
    )*};
}
on_grid!(Bullet, Fish, Sub, Diver);

/// Identity of an element of an [`ObjectList`] (Python's object identity).
type ObjectId = u64;

/// A Python list of mutable list-objects, as the game's loops use it.
///
/// - `list.remove(v)` drops the first element *equal* to `v` ([`ObjectList::remove`]), which
///   need not be the object in hand when two elements hold equal values.
/// - `reversed(list)` walks indices downwards from the length at creation, stopping as soon as
///   the index falls outside the list ([`ObjectList::next_reversed`]); removals from the list
///   shift what the next index yields.
/// - The loop variable is a reference: changes to it show in the list wherever the object sits
///   now, and an object already removed can still be read and changed. Each element therefore
///   carries an id, and [`ObjectList::set`] writes the changed value back by id.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ObjectList<T> {
    items: Vec<(ObjectId, T)>,
    next_id: ObjectId,
}

impl<T> Default for ObjectList<T> {
    fn default() -> Self {
        ObjectList {
            items: Vec::new(),
            next_id: 0,
        }
    }
}

/// Position of a `reversed()` iterator: the next index it reads (below 0: exhausted).
struct ReverseCursor(isize);

impl<T: Copy + PartialEq> ObjectList<T> {
    fn clear(&mut self) {
        self.items.clear();
    }

    /// `list += [value]`.
    fn push(&mut self, value: T) {
        self.items.push((self.next_id, value));
        self.next_id += 1;
    }

    fn iter(&self) -> impl Iterator<Item = &T> {
        self.items.iter().map(|(_, v)| v)
    }

    /// `reversed(list)`.
    fn reversed(&self) -> ReverseCursor {
        ReverseCursor(self.items.len() as isize - 1)
    }

    /// The next object of a `reversed(list)` loop (CPython's `listreviter_next`).
    fn next_reversed(&self, cursor: &mut ReverseCursor) -> Option<(ObjectId, T)> {
        let index = usize::try_from(cursor.0)
            .ok()
            .filter(|&i| i < self.items.len());
        match index {
            Some(i) => {
                cursor.0 -= 1;
                Some(self.items[i])
            }
            None => {
                cursor.0 = -1;
                None
            }
        }
    }

    /// The object `id` now holds `value` (no effect once it has left the list).
    fn set(&mut self, id: ObjectId, value: T) {
        if let Some(item) = self.items.iter_mut().find(|(i, _)| *i == id) {
            item.1 = value;
        }
    }

    /// `list.remove(value)`: drop the first element equal to `value`. The game only removes
    /// values it has just read from the list, so one is always there (Python would raise
    /// `ValueError` otherwise).
    fn remove(&mut self, value: &T) {
        let found = self.items.iter().position(|(_, v)| v == value);
        debug_assert!(found.is_some(), "list.remove(x): x not in list");
        if let Some(index) = found {
            self.items.remove(index);
        }
    }
}

/// The first element of `list` on `cell` (Python's `for x in list: if obj[0:2] == x[0:2]`).
fn first_at<T: OnGrid + Copy + PartialEq>(list: &ObjectList<T>, cell: (i32, i32)) -> Option<T> {
    list.iter().find(|e| e.cell() == cell).copied()
}

/// One column towards the entity's heading.
fn step(right: bool) -> i32 {
    if right {
        1
    } else {
        -1
    }
}

fn off_screen(x: i32) -> bool {
    !(0..=9).contains(&x)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Seaquest {
    ramping: bool,
    oxygen: i32,
    /// Divers on board; goes negative after surfacing with 6 (see `surface`).
    diver_count: i32,
    sub_x: i32,
    sub_y: i32,
    /// Orientation: true when facing right.
    sub_or: bool,
    f_bullets: ObjectList<Bullet>,
    e_bullets: ObjectList<Bullet>,
    e_fish: ObjectList<Fish>,
    e_subs: ObjectList<Sub>,
    divers: ObjectList<Diver>,
    e_spawn_speed: i32,
    e_spawn_timer: i32,
    d_spawn_timer: i32,
    move_speed: i32,
    ramp_index: i32,
    shot_timer: i32,
    /// At the surface since the last surfacing was handled.
    surface: bool,
    terminal: bool,
}

impl Seaquest {
    pub(super) fn new(ramping: bool, rng: &mut NumpyRandomState) -> Self {
        let mut env = Seaquest {
            ramping,
            oxygen: 0,
            diver_count: 0,
            sub_x: 0,
            sub_y: 0,
            sub_or: false,
            f_bullets: ObjectList::default(),
            e_bullets: ObjectList::default(),
            e_fish: ObjectList::default(),
            e_subs: ObjectList::default(),
            divers: ObjectList::default(),
            e_spawn_speed: 0,
            e_spawn_timer: 0,
            d_spawn_timer: 0,
            move_speed: 0,
            ramp_index: 0,
            shot_timer: 0,
            surface: false,
            terminal: false,
        };
        env.reset(rng);
        env
    }

    fn at_player(&self, cell: (i32, i32)) -> bool {
        cell == (self.sub_x, self.sub_y)
    }

    fn can_rescue(&self, cell: (i32, i32)) -> bool {
        self.at_player(cell) && self.diver_count < 6
    }

    fn resolve_action(&mut self, action: Action) {
        match action {
            Action::Fire if self.shot_timer == 0 => {
                self.f_bullets.push(Bullet {
                    x: self.sub_x,
                    y: self.sub_y,
                    right: self.sub_or,
                });
                self.shot_timer = SHOT_COOL_DOWN;
            }
            Action::Left => {
                self.sub_x = (self.sub_x - 1).max(0);
                self.sub_or = false;
            }
            Action::Right => {
                self.sub_x = (self.sub_x + 1).min(9);
                self.sub_or = true;
            }
            Action::Up => self.sub_y = (self.sub_y - 1).max(0),
            Action::Down => self.sub_y = (self.sub_y + 1).min(8),
            _ => {}
        }
    }

    /// Friendly bullets fly one cell and destroy the first fish, else sub, they land on.
    fn update_friendly_bullets(&mut self) -> i32 {
        let mut r = 0;
        let mut cursor = self.f_bullets.reversed();
        while let Some((id, mut bullet)) = self.f_bullets.next_reversed(&mut cursor) {
            bullet.x += step(bullet.right);
            self.f_bullets.set(id, bullet);
            if off_screen(bullet.x) {
                self.f_bullets.remove(&bullet);
            } else if let Some(fish) = first_at(&self.e_fish, bullet.cell()) {
                self.e_fish.remove(&fish);
                self.f_bullets.remove(&bullet);
                r += 1;
            } else if let Some(sub) = first_at(&self.e_subs, bullet.cell()) {
                self.e_subs.remove(&sub);
                self.f_bullets.remove(&bullet);
                r += 1;
            }
        }
        r
    }

    /// Divers on the player's cell are picked up (room permitting), the others drift.
    fn update_divers(&mut self) {
        let mut cursor = self.divers.reversed();
        while let Some((id, mut diver)) = self.divers.next_reversed(&mut cursor) {
            if self.can_rescue(diver.cell()) {
                self.divers.remove(&diver);
                self.diver_count += 1;
            } else if diver.move_timer == 0 {
                diver.move_timer = DIVER_MOVE_INTERVAL;
                diver.x += step(diver.right);
                self.divers.set(id, diver);
                if off_screen(diver.x) {
                    self.divers.remove(&diver);
                } else if self.can_rescue(diver.cell()) {
                    self.divers.remove(&diver);
                    self.diver_count += 1;
                }
            } else {
                diver.move_timer -= 1;
                self.divers.set(id, diver);
            }
        }
    }

    /// Enemy subs move, may be rammed or shot, and fire.
    fn update_enemy_subs(&mut self) -> i32 {
        let mut r = 0;
        let mut cursor = self.e_subs.reversed();
        while let Some((id, mut sub)) = self.e_subs.next_reversed(&mut cursor) {
            if self.at_player(sub.cell()) {
                self.terminal = true;
            }
            if sub.move_timer == 0 {
                sub.move_timer = self.move_speed;
                sub.x += step(sub.right);
                self.e_subs.set(id, sub);
                if off_screen(sub.x) {
                    self.e_subs.remove(&sub);
                } else if self.at_player(sub.cell()) {
                    self.terminal = true;
                } else if let Some(bullet) = first_at(&self.f_bullets, sub.cell()) {
                    self.e_subs.remove(&sub);
                    self.f_bullets.remove(&bullet);
                    r += 1;
                }
            } else {
                sub.move_timer -= 1;
                self.e_subs.set(id, sub);
            }
            // Python keeps using the object: a sub that has just left the screen or been shot
            // still fires (from off-screen, too; that bullet is dropped below, unseen).
            if sub.shot_timer == 0 {
                sub.shot_timer = ENEMY_SHOT_INTERVAL;
                self.e_subs.set(id, sub);
                self.e_bullets.push(Bullet {
                    x: sub.x,
                    y: sub.y,
                    right: sub.right,
                });
            } else {
                sub.shot_timer -= 1;
                self.e_subs.set(id, sub);
            }
        }
        r
    }

    /// Enemy bullets fly one cell; hitting the player before or after ends the episode.
    fn update_enemy_bullets(&mut self) {
        let mut cursor = self.e_bullets.reversed();
        while let Some((id, mut bullet)) = self.e_bullets.next_reversed(&mut cursor) {
            if self.at_player(bullet.cell()) {
                self.terminal = true;
            }
            bullet.x += step(bullet.right);
            self.e_bullets.set(id, bullet);
            if off_screen(bullet.x) {
                self.e_bullets.remove(&bullet);
            } else if self.at_player(bullet.cell()) {
                self.terminal = true;
            }
        }
    }

    /// Enemy fish move and may ram the player or swim into a friendly bullet.
    fn update_enemy_fish(&mut self) -> i32 {
        let mut r = 0;
        let mut cursor = self.e_fish.reversed();
        while let Some((id, mut fish)) = self.e_fish.next_reversed(&mut cursor) {
            if self.at_player(fish.cell()) {
                self.terminal = true;
            }
            if fish.move_timer == 0 {
                fish.move_timer = self.move_speed;
                fish.x += step(fish.right);
                self.e_fish.set(id, fish);
                if off_screen(fish.x) {
                    self.e_fish.remove(&fish);
                } else if self.at_player(fish.cell()) {
                    self.terminal = true;
                } else if let Some(bullet) = first_at(&self.f_bullets, fish.cell()) {
                    self.e_fish.remove(&fish);
                    self.f_bullets.remove(&bullet);
                    r += 1;
                }
            } else {
                fish.move_timer -= 1;
                self.e_fish.set(id, fish);
            }
        }
        r
    }

    /// Timers count down; oxygen runs out under water and is handled at the surface.
    fn update_timers_and_oxygen(&mut self) -> i32 {
        self.e_spawn_timer -= i32::from(self.e_spawn_timer > 0);
        self.d_spawn_timer -= i32::from(self.d_spawn_timer > 0);
        self.shot_timer -= i32::from(self.shot_timer > 0);
        if self.oxygen <= 0 {
            self.terminal = true;
        }
        if self.sub_y > 0 {
            self.oxygen -= 1;
            self.surface = false;
        } else if !self.surface {
            if self.diver_count == 0 {
                self.terminal = true;
            } else {
                return self.surface();
            }
        }
        0
    }

    /// `_surface()`: refill oxygen and drop a diver; with all 6 on board, pay out the oxygen
    /// bar and empty the sub. Python quirk kept: that case sets the count to 0 *and then*
    /// drops a diver, leaving -1, so the next surfacing does not end the episode either.
    fn surface(&mut self) -> i32 {
        self.surface = true;
        let r = if self.diver_count == 6 {
            self.diver_count = 0;
            (self.oxygen * 10).div_euclid(MAX_OXYGEN)
        } else {
            0
        };
        self.oxygen = MAX_OXYGEN;
        self.diver_count -= 1;
        if self.ramping && (self.e_spawn_speed > 1 || self.move_speed > 2) {
            if self.move_speed > 2 && self.ramp_index % 2 == 1 {
                self.move_speed -= 1;
            }
            if self.e_spawn_speed > 1 {
                self.e_spawn_speed -= 1;
            }
            self.ramp_index += 1;
        }
        r
    }

    /// `_spawn_enemy()`: a fish or (1 in 3) a sub in a random lane (rows 1 to 8) from a random
    /// side, unless that lane already holds an enemy heading the other way.
    fn spawn_enemy(&mut self, rng: &mut NumpyRandomState) {
        let lr = rng.rand() < 1.0 / 2.0;
        let is_sub = rng.rand() < 1.0 / 3.0;
        let x = if lr { 0 } else { 9 };
        let y = rng.randint_range(1, 9) as i32;

        // Do not spawn in same row an opposite direction as existing
        let subs = self.e_subs.iter().map(|z| (z.y, z.right));
        let fish = self.e_fish.iter().map(|z| (z.y, z.right));
        if subs.chain(fish).any(|(zy, zr)| zy == y && zr != lr) {
            return;
        }
        if is_sub {
            self.e_subs.push(Sub {
                x,
                y,
                right: lr,
                move_timer: self.move_speed,
                shot_timer: ENEMY_SHOT_INTERVAL,
            });
        } else {
            self.e_fish.push(Fish {
                x,
                y,
                right: lr,
                move_timer: self.move_speed,
            });
        }
    }

    /// `_spawn_diver()`: a diver in a random lane from a random side.
    fn spawn_diver(&mut self, rng: &mut NumpyRandomState) {
        let lr = rng.rand() < 1.0 / 2.0;
        let x = if lr { 0 } else { 9 };
        let y = rng.randint_range(1, 9) as i32;
        self.divers.push(Diver {
            x,
            y,
            right: lr,
            move_timer: DIVER_MOVE_INTERVAL,
        });
    }
}

impl GameLogic for Seaquest {
    fn reset(&mut self, _rng: &mut NumpyRandomState) {
        self.oxygen = MAX_OXYGEN;
        self.diver_count = 0;
        self.sub_x = 5;
        self.sub_y = 0;
        self.sub_or = false;
        self.f_bullets.clear();
        self.e_bullets.clear();
        self.e_fish.clear();
        self.e_subs.clear();
        self.divers.clear();
        self.e_spawn_speed = INIT_SPAWN_SPEED;
        self.e_spawn_timer = self.e_spawn_speed;
        self.d_spawn_timer = DIVER_SPAWN_SPEED;
        self.move_speed = INIT_MOVE_INTERVAL;
        self.ramp_index = 0;
        self.shot_timer = 0;
        self.surface = true;
        self.terminal = false;
    }

    fn act(&mut self, action: Action, rng: &mut NumpyRandomState) -> (i32, bool) {
        let mut r = 0;
        if self.terminal {
            return (r, self.terminal);
        }

        // Spawn enemy if timer is up
        if self.e_spawn_timer == 0 {
            self.spawn_enemy(rng);
            self.e_spawn_timer = self.e_spawn_speed;
        }
        if self.d_spawn_timer == 0 {
            self.spawn_diver(rng);
            self.d_spawn_timer = DIVER_SPAWN_SPEED;
        }

        self.resolve_action(action);
        r += self.update_friendly_bullets();
        self.update_divers();
        r += self.update_enemy_subs();
        self.update_enemy_bullets();
        r += self.update_enemy_fish();
        r += self.update_timers_and_oxygen();
        (r, self.terminal)
    }

    fn difficulty_ramp(&self) -> Option<i32> {
        Some(self.ramp_index)
    }

    fn render(&self, frame: &mut Frame) {
        frame.set(self.sub_y, self.sub_x, SUB_FRONT);
        let back_x = if self.sub_or {
            self.sub_x - 1
        } else {
            self.sub_x + 1
        };
        frame.set(self.sub_y, back_x, SUB_BACK);
        // state[9, 0:max(0, oxygen) * 10 // max_oxygen]
        let oxygen_cells = (self.oxygen.max(0) * 10).div_euclid(MAX_OXYGEN);
        for x in 0..oxygen_cells.min(10) {
            frame.set(9, x, OXYGEN_GAUGE);
        }
        // state[9, 9 - diver_count:9]: empty once diver_count has gone negative.
        for x in (9 - self.diver_count).max(0)..9 {
            frame.set(9, x, DIVER_GAUGE);
        }
        for bullet in self.f_bullets.iter() {
            frame.set(bullet.y, bullet.x, FRIENDLY_BULLET);
        }
        for bullet in self.e_bullets.iter() {
            frame.set(bullet.y, bullet.x, ENEMY_BULLET);
        }
        for fish in self.e_fish.iter() {
            render_mover(frame, fish.cell(), fish.right, ENEMY_FISH);
        }
        for sub in self.e_subs.iter() {
            render_mover(frame, sub.cell(), sub.right, ENEMY_SUB);
        }
        for diver in self.divers.iter() {
            render_mover(frame, diver.cell(), diver.right, DIVER);
        }
    }
}

/// An entity in `channel` plus, when on screen, its trail on the cell behind it.
fn render_mover(frame: &mut Frame, (x, y): (i32, i32), right: bool, channel: usize) {
    frame.set(y, x, channel);
    let back_x = if right { x - 1 } else { x + 1 };
    if (0..=9).contains(&back_x) {
        frame.set(y, back_x, TRAIL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reversed_loop_follows_python_list_semantics() {
        // CPython: `l = [[1], [2], [1]]; it = reversed(l); o = next(it); l.remove(o)` removes
        // l[0], the first element equal to `o`, and `next(it)` then yields `o` itself again.
        let mut list = ObjectList::default();
        for v in [1, 2, 1] {
            list.push(v);
        }
        let mut cursor = list.reversed();
        let (last_id, last) = list.next_reversed(&mut cursor).expect("three elements");
        list.remove(&last); // removes the *first* 1
        let (again_id, _) = list
            .next_reversed(&mut cursor)
            .expect("index 1 still exists");
        assert_eq!(again_id, last_id, "index 1 now holds the object in hand");
        assert_eq!(list.iter().copied().collect::<Vec<_>>(), [2, 1]);
    }

    #[test]
    fn a_reversed_loop_ends_when_removals_leave_its_index_past_the_end() {
        // CPython's `listreviter_next` stops once its index is no longer below the list's size.
        let mut list = ObjectList::default();
        for v in [1, 2, 3] {
            list.push(v);
        }
        let mut cursor = list.reversed();
        assert_eq!(list.next_reversed(&mut cursor).map(|(_, v)| v), Some(3));
        list.remove(&1);
        list.remove(&2);
        assert_eq!(list.next_reversed(&mut cursor), None, "index 1 is past [3]");
        // Exhausted for good (index −1), even if the list grows again.
        list.push(4);
        list.push(5);
        assert_eq!(list.next_reversed(&mut cursor), None);
    }

    #[test]
    fn surfacing_with_six_divers_pays_out_and_leaves_minus_one() {
        let mut rng = NumpyRandomState::new(0);
        let mut env = Seaquest::new(true, &mut rng);
        env.diver_count = 6;
        env.oxygen = 137;
        env.surface = false;
        env.e_spawn_timer = 5; // keep spawns out of the way
        assert_eq!(env.act(Action::Noop, &mut rng), (6, false));
        assert_eq!(
            (env.diver_count, env.oxygen, env.ramp_index),
            (-1, MAX_OXYGEN, 1)
        );
        let mut frame = Frame::default();
        env.render(&mut frame);
        assert!((0..10).all(|x| !frame.get(9, x, DIVER_GAUGE)));
    }

    /// Python picks a diver up only while `diver_count < 6`: with six aboard, a diver on the
    /// sub's cell, or swimming into it, stays in the water and drifts on; with five it is taken.
    #[test]
    fn a_full_sub_leaves_divers_in_the_water() {
        let mut rng = NumpyRandomState::new(0);
        let mut env = Seaquest::new(true, &mut rng);
        (env.sub_x, env.sub_y, env.diver_count, env.surface) = (5, 4, 6, false);
        (env.e_spawn_timer, env.d_spawn_timer) = (9, 9); // no spawns
        let diver = |x, move_timer| Diver {
            x,
            y: 4,
            right: true,
            move_timer,
        };
        env.divers.push(diver(5, 3)); // on the sub's cell
        env.divers.push(diver(4, 0)); // swims into it this frame
        assert_eq!(env.act(Action::Noop, &mut rng), (0, false));
        assert_eq!(env.diver_count, 6);
        assert_eq!(
            env.divers.iter().copied().collect::<Vec<_>>(),
            [diver(5, 2), diver(5, DIVER_MOVE_INTERVAL)]
        );
        env.diver_count = 5;
        env.act(Action::Noop, &mut rng);
        assert_eq!(env.diver_count, 6, "one picked up, the other then stays");
        assert_eq!(env.divers.iter().count(), 1);
    }

    /// Python: surfacing keeps speeding enemies up (every other time) after their spawns are
    /// fastest, since it ramps while `e_spawn_speed > 1 or move_speed > 2`.
    #[test]
    fn surfacing_ramps_moves_after_spawns_are_fastest() {
        let mut rng = NumpyRandomState::new(0);
        let mut env = Seaquest::new(true, &mut rng);
        (env.e_spawn_speed, env.move_speed, env.ramp_index) = (1, 4, 1);
        env.diver_count = 1;
        assert_eq!(env.surface(), 0);
        assert_eq!(
            (env.e_spawn_speed, env.move_speed, env.ramp_index),
            (1, 3, 2)
        );
        // Fastest at both: no more ramping.
        (env.move_speed, env.diver_count) = (2, 1);
        env.surface();
        assert_eq!(env.ramp_index, 2);
        // Moves fastest, spawns not: spawns ramp on, moves stay at 2 (even on an odd ramp).
        (env.e_spawn_speed, env.ramp_index, env.diver_count) = (3, 3, 1);
        env.surface();
        assert_eq!(
            (env.e_spawn_speed, env.move_speed, env.ramp_index),
            (2, 2, 4)
        );
    }
}
