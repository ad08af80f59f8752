//! Breakout: a paddle on the bottom row bounces a ball, travelling only along diagonals, into 3
//! rows of bricks; +1 per brick broken, a fresh 3 rows once all are gone, and the episode ends
//! when the ball reaches the bottom row past the paddle. A trail channel shows the ball's last
//! cell. Port of MinAtar 1.0.15's `minatar/environments/breakout.py`.

use serde::{Deserialize, Serialize};

use super::{Action, Frame, GameLogic, NumpyRandomState, SIZE};

// Channels, in the order of the Python `channels` dict.
const PADDLE: usize = 0;
const BALL: usize = 1;
const TRAIL: usize = 2;
const BRICK: usize = 3;

/// Ball directions 0..4: up-left, up-right, down-right, down-left, as (dx, dy).
const DIRECTIONS: [(i32, i32); 4] = [(-1, -1), (1, -1), (1, 1), (-1, 1)];
/// Direction after bouncing off a side wall.
const FLIP_X: [usize; 4] = [1, 0, 3, 2];
/// Direction after bouncing off the top, a brick, or the paddle's centre.
const FLIP_Y: [usize; 4] = [3, 2, 1, 0];
/// Direction after hitting the paddle with its corner (both components reversed).
const FLIP_XY: [usize; 4] = [2, 3, 0, 1];

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Breakout {
    ball_x: i32,
    ball_y: i32,
    ball_dir: usize,
    /// Paddle column (row 9).
    pos: i32,
    /// `brick_map[y][x]`.
    brick_map: [[bool; SIZE]; SIZE],
    /// The ball struck a brick on the previous frame (it then passes through the next one).
    strike: bool,
    last_x: i32,
    last_y: i32,
    terminal: bool,
}

impl Breakout {
    pub(super) fn new(rng: &mut NumpyRandomState) -> Self {
        let mut env = Breakout {
            ball_x: 0,
            ball_y: 0,
            ball_dir: 0,
            pos: 0,
            brick_map: [[false; SIZE]; SIZE],
            strike: false,
            last_x: 0,
            last_y: 0,
            terminal: false,
        };
        env.reset(rng);
        env
    }

    /// `brick_map[1:4, :] = 1`.
    fn fill_bricks(&mut self) {
        for row in &mut self.brick_map[1..4] {
            *row = [true; SIZE];
        }
    }

    fn brick_count(&self) -> usize {
        self.brick_map.iter().flatten().filter(|&&b| b).count()
    }
}

impl GameLogic for Breakout {
    fn reset(&mut self, rng: &mut NumpyRandomState) {
        self.ball_y = 3;
        let ball_start = rng.randint(2);
        (self.ball_x, self.ball_dir) = if ball_start == 0 { (0, 2) } else { (9, 3) };
        self.pos = 4;
        self.brick_map = [[false; SIZE]; SIZE];
        self.fill_bricks();
        self.strike = false;
        self.last_x = self.ball_x;
        self.last_y = self.ball_y;
        self.terminal = false;
    }

    fn act(&mut self, action: Action, _rng: &mut NumpyRandomState) -> (i32, bool) {
        let mut r = 0;
        if self.terminal {
            return (r, self.terminal);
        }

        // Resolve player action
        match action {
            Action::Left => self.pos = (self.pos - 1).max(0),
            Action::Right => self.pos = (self.pos + 1).min(9),
            _ => {}
        }

        // Update ball position
        self.last_x = self.ball_x;
        self.last_y = self.ball_y;
        let (dx, dy) = DIRECTIONS[self.ball_dir];
        let mut new_x = self.ball_x + dx;
        let mut new_y = self.ball_y + dy;

        let mut strike_toggle = false;
        if !(0..=9).contains(&new_x) {
            new_x = new_x.clamp(0, 9);
            self.ball_dir = FLIP_X[self.ball_dir];
        }
        if new_y < 0 {
            new_y = 0;
            self.ball_dir = FLIP_Y[self.ball_dir];
        } else if self.brick_map[new_y as usize][new_x as usize] {
            strike_toggle = true;
            if !self.strike {
                r += 1;
                self.strike = true;
                self.brick_map[new_y as usize][new_x as usize] = false;
                new_y = self.last_y;
                self.ball_dir = FLIP_Y[self.ball_dir];
            }
        } else if new_y == 9 {
            if self.brick_count() == 0 {
                self.fill_bricks();
            }
            if self.ball_x == self.pos {
                self.ball_dir = FLIP_Y[self.ball_dir];
                new_y = self.last_y;
            } else if new_x == self.pos {
                self.ball_dir = FLIP_XY[self.ball_dir];
                new_y = self.last_y;
            } else {
                self.terminal = true;
            }
        }

        if !strike_toggle {
            self.strike = false;
        }

        self.ball_x = new_x;
        self.ball_y = new_y;
        (r, self.terminal)
    }

    fn render(&self, frame: &mut Frame) {
        frame.set(self.ball_y, self.ball_x, BALL);
        frame.set(9, self.pos, PADDLE);
        frame.set(self.last_y, self.last_x, TRAIL);
        for (y, row) in self.brick_map.iter().enumerate() {
            for (x, &brick) in row.iter().enumerate() {
                if brick {
                    frame.set(y as i32, x as i32, BRICK);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ball_bounces_off_the_top_only_past_row_0() {
        // Python: `if new_y < 0: new_y = 0; ball_dir = [3, 2, 1, 0][ball_dir]` — the ball first
        // enters row 0, and bounces on the frame that would take it above.
        let mut rng = NumpyRandomState::new(0);
        let mut env = Breakout::new(&mut rng);
        (env.ball_x, env.ball_y, env.ball_dir) = (5, 1, 0); // up-left
        assert_eq!(env.act(Action::Noop, &mut rng), (0, false));
        assert_eq!((env.ball_x, env.ball_y, env.ball_dir), (4, 0, 0));
        assert_eq!(env.act(Action::Noop, &mut rng), (0, false));
        assert_eq!((env.ball_x, env.ball_y, env.ball_dir), (3, 0, 3));
    }

    #[test]
    fn ball_passes_through_the_brick_after_a_strike() {
        // Python quirk kept: right after breaking a brick, `strike` is set, and a brick met on
        // the very next frame is entered without being broken or bouncing the ball.
        let mut rng = NumpyRandomState::new(0);
        let mut env = Breakout::new(&mut rng);
        env.ball_x = 5;
        env.ball_y = 4;
        env.ball_dir = 0; // up-left, into the brick at (3, 4)
        assert_eq!(env.act(Action::Noop, &mut rng), (1, false));
        assert_eq!((env.ball_x, env.ball_y, env.ball_dir), (4, 4, 3));
        // Force the ball back up into another brick on the next frame.
        env.ball_dir = 1;
        assert_eq!(env.act(Action::Noop, &mut rng), (0, false));
        assert_eq!((env.ball_x, env.ball_y), (5, 3));
        assert!(
            env.brick_map[3][5],
            "the brick survives; the ball sits inside it"
        );
    }
}
