//! Progress of a training run: indicatif bars on a terminal, plain `tracing` lines otherwise (logs, CI).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::Instant;

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// Bars when stderr is a terminal, log lines otherwise.
    Auto,
    /// Log lines only.
    Lines,
    /// Nothing (library use, tests).
    Hidden,
}

/// Reports the steps of one epoch.
#[derive(Debug)]
pub struct Progress {
    bar: Option<ProgressBar>,
    lines: bool,
    started: Instant,
    steps: usize,
    images: usize,
    epoch: usize,
    epochs: usize,
}

impl Progress {
    /// Starts reporting epoch `epoch` (1-based) of `epochs`, which has `steps` steps.
    pub fn epoch(mode: ProgressMode, epoch: usize, epochs: usize, steps: usize) -> Self {
        let tty = std::io::stderr().is_terminal();
        let bar = (mode == ProgressMode::Auto && tty).then(|| {
            let bar = ProgressBar::with_draw_target(Some(steps as u64), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{prefix:>12} [{bar:30.cyan/blue}] {pos}/{len} {msg} ({elapsed} < {eta})")
                    .expect("valid template")
                    .progress_chars("=> "),
            );
            bar.set_prefix(format!("epoch {epoch}/{epochs}"));
            bar
        });
        let lines = bar.is_none() && mode != ProgressMode::Hidden;
        Self { bar, lines, started: Instant::now(), steps, images: 0, epoch, epochs }
    }

    /// Records one finished step of `images` images with its loss.
    pub fn step(&mut self, step: usize, images: usize, loss: f64) {
        self.images += images;
        let rate = self.images_per_second();
        if let Some(bar) = &self.bar {
            bar.set_position(step as u64);
            bar.set_message(format!("loss {loss:.4} | {rate:.0} img/s"));
        } else if self.lines && (step == self.steps || step.is_multiple_of(50)) {
            tracing::info!(
                "epoch {}/{} step {step}/{} loss {loss:.4} {rate:.0} img/s",
                self.epoch,
                self.epochs,
                self.steps
            );
        }
    }

    /// Images per second so far.
    pub fn images_per_second(&self) -> f64 {
        self.images as f64 / self.started.elapsed().as_secs_f64().max(1e-9)
    }

    /// Closes the bar and prints the epoch summary line.
    pub fn finish(self, summary: &str) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
            eprintln!("epoch {}/{}: {summary}", self.epoch, self.epochs);
        } else if self.lines {
            tracing::info!("epoch {}/{}: {summary}", self.epoch, self.epochs);
        }
    }
}
