//! Freeway: a chicken in column 4 crosses eight lanes of traffic from the bottom row to the top,
//! moving at most once every 3 frames. +1 per crossing, after which the chicken restarts at the
//! bottom and the car speeds are redrawn; a car hit sends it back to the bottom. Cars wrap round
//! the screen; five trail channels give each car's direction and speed (moving every 1 to 5
//! frames). The episode ends after 2500 frames. Port of MinAtar 1.0.15's
//! `minatar/environments/freeway.py`.

use serde::{Deserialize, Serialize};

use super::{Action, Frame, GameLogic, NumpyRandomState};

// Channels, in the order of the Python `channels` dict; `SPEED1 + k - 1` is the trail channel of
// a car that moves every `k` frames (`speed1` .. `speed5`).
const CHICKEN: usize = 0;
const CAR: usize = 1;
const SPEED1: usize = 2;

const PLAYER_SPEED: i32 = 3;
const TIME_LIMIT: i32 = 2500;
const NUM_CARS: usize = 8;

/// Python's `[x, y, timer, speed]`: `speed`'s sign is the direction, its size the frames
/// between moves.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
struct Car {
    x: i32,
    y: i32,
    timer: i32,
    speed: i32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Freeway {
    cars: [Car; NUM_CARS],
    /// Chicken row (column 4).
    pos: i32,
    move_timer: i32,
    terminate_timer: i32,
    terminal: bool,
}

impl Freeway {
    pub(super) fn new(rng: &mut NumpyRandomState) -> Self {
        let mut env = Freeway {
            cars: [Car::default(); NUM_CARS],
            pos: 0,
            move_timer: 0,
            terminate_timer: 0,
            terminal: false,
        };
        env.reset(rng);
        env
    }

    /// `_randomize_cars(initialize)`: new speeds and directions (8 `randint(1, 6)` draws, then
    /// 8 `rand()` draws); `initialize` also puts car `i` at `x = 0` in lane `i + 1`.
    fn randomize_cars(&mut self, rng: &mut NumpyRandomState, initialize: bool) {
        let mut speeds = [0i64; NUM_CARS];
        rng.randint_fill(1, 6, &mut speeds);
        let mut directions = [0.0f64; NUM_CARS];
        rng.rand_fill(&mut directions);
        for (i, car) in self.cars.iter_mut().enumerate() {
            let speed = car_speed(speeds[i], directions[i]);
            if initialize {
                car.x = 0;
                car.y = i as i32 + 1;
            }
            car.timer = speed.abs();
            car.speed = speed;
        }
    }
}

/// A car's signed speed from its `randint(1, 6)` and `rand()` draws: `speeds *= directions`
/// with `directions = np.sign(rand - 0.5).astype(int)`, which is 0 when the draw is exactly 0.5.
fn car_speed(speed: i64, direction: f64) -> i32 {
    speed as i32 * sign(direction - 0.5)
}

/// `np.sign` of a (non-NaN) float, as an integer.
fn sign(v: f64) -> i32 {
    if v > 0.0 {
        1
    } else if v < 0.0 {
        -1
    } else {
        0
    }
}

impl GameLogic for Freeway {
    fn reset(&mut self, rng: &mut NumpyRandomState) {
        self.randomize_cars(rng, true);
        self.pos = 9;
        self.move_timer = PLAYER_SPEED;
        self.terminate_timer = TIME_LIMIT;
        self.terminal = false;
    }

    fn act(&mut self, action: Action, rng: &mut NumpyRandomState) -> (i32, bool) {
        let mut r = 0;
        if self.terminal {
            return (r, self.terminal);
        }

        match action {
            Action::Up if self.move_timer == 0 => {
                self.move_timer = PLAYER_SPEED;
                self.pos = (self.pos - 1).max(0);
            }
            Action::Down if self.move_timer == 0 => {
                self.move_timer = PLAYER_SPEED;
                self.pos = (self.pos + 1).min(9);
            }
            _ => {}
        }

        // Win condition
        if self.pos == 0 {
            r += 1;
            self.randomize_cars(rng, false);
            self.pos = 9;
        }

        // Update cars
        for car in &mut self.cars {
            if (car.x, car.y) == (4, self.pos) {
                self.pos = 9;
            }
            if car.timer == 0 {
                car.timer = car.speed.abs();
                car.x += if car.speed > 0 { 1 } else { -1 };
                if car.x < 0 {
                    car.x = 9;
                } else if car.x > 9 {
                    car.x = 0;
                }
                if (car.x, car.y) == (4, self.pos) {
                    self.pos = 9;
                }
            } else {
                car.timer -= 1;
            }
        }

        // Update various timers
        self.move_timer -= i32::from(self.move_timer > 0);
        self.terminate_timer -= 1;
        if self.terminate_timer < 0 {
            self.terminal = true;
        }
        (r, self.terminal)
    }

    fn render(&self, frame: &mut Frame) {
        frame.set(self.pos, 4, CHICKEN);
        // Python's `trail` variable outlives each loop pass: a car of speed 0 (a direction draw
        // of exactly 0.5, odds 2^-53) reuses the previous car's channel; for the first car
        // Python raises, and here no trail is drawn.
        let mut trail = None;
        for car in &self.cars {
            frame.set(car.y, car.x, CAR);
            let mut back_x = if car.speed > 0 { car.x - 1 } else { car.x + 1 };
            if back_x < 0 {
                back_x = 9;
            } else if back_x > 9 {
                back_x = 0;
            }
            if (1..=5).contains(&car.speed.abs()) {
                trail = Some(SPEED1 + car.speed.unsigned_abs() as usize - 1);
            }
            if let Some(channel) = trail {
                frame.set(car.y, back_x, channel);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_is_numpys_with_zero_at_zero() {
        // `np.sign(rand - 0.5)`: a draw of exactly 0.5 gives a car of speed 0.
        assert_eq!(
            (sign(0.25), sign(-1e-300), sign(0.0), sign(-0.0)),
            (1, -1, 0, 0)
        );
    }

    #[test]
    fn car_speeds_carry_the_direction_draws_sign() {
        assert_eq!(
            (car_speed(3, 0.75), car_speed(5, 0.25), car_speed(4, 0.5)),
            (3, -5, 0)
        );
    }

    /// A car of speed 0 (a direction draw of exactly 0.5): in Python its timer is `abs(0)`, so
    /// it moves every frame, to the left (`car[0] += 1 if car[3] > 0 else -1`), its trail is
    /// drawn on its right (`back_x = car[0] - 1 if car[3] > 0 else car[0] + 1`), in the channel
    /// of the car before it.
    #[test]
    fn a_car_of_speed_zero_moves_left_every_frame_trailing_on_its_right() {
        let mut rng = NumpyRandomState::new(0);
        let mut env = Freeway::new(&mut rng);
        env.cars[0] = Car {
            x: 0,
            y: 1,
            timer: 3,
            speed: 3,
        };
        env.cars[1] = Car {
            x: 7,
            y: 2,
            timer: 0,
            speed: 0,
        };
        env.act(Action::Noop, &mut rng);
        env.act(Action::Noop, &mut rng);
        assert_eq!((env.cars[1].x, env.cars[1].timer), (5, 0));
        let mut frame = Frame::default();
        env.render(&mut frame);
        assert!(frame.get(2, 5, CAR));
        let speed3 = SPEED1 + 2;
        assert!(frame.get(2, 6, speed3) && !frame.get(2, 4, speed3));
    }
}
