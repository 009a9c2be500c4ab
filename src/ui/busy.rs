//! A busy indicator that redraws ten times a second, not every frame.
//!
//! egui's own spinner asks for a new frame as soon as one ends. While a big session loads
//! that kept the whole window repainting at the display's rate, and on a software renderer
//! those frames took CPU from the threads reading the file. This one turns in steps and asks
//! for the next frame a step later.

use std::time::Duration;

use egui::{Response, Sense, Shape, Stroke, Ui, Vec2, emath::lerp};

/// Time between two steps of the indicator.
pub const STEP: Duration = Duration::from_millis(100);

/// Steps in one turn.
const STEPS_PER_TURN: f64 = 12.0;

/// A turning arc the height of a line of buttons; the next frame is asked for one [`STEP`] on.
pub fn spinner(ui: &mut Ui) -> Response {
    let size = ui.spacing().interact_size.y;
    let (rect, response) = ui.allocate_exact_size(Vec2::splat(size), Sense::hover());
    if ui.is_rect_visible(rect) {
        let time = ui.input(|i| i.time);
        let step = (time / STEP.as_secs_f64()).floor();
        let start = step / STEPS_PER_TURN * std::f64::consts::TAU;
        let end = start + std::f64::consts::TAU * 2.0 / 3.0;
        let radius = rect.height() * 0.5 - 2.0;
        let points = (0..=16)
            .map(|i| {
                let (sin, cos) = lerp(start..=end, f64::from(i) / 16.0).sin_cos();
                rect.center() + radius * egui::vec2(cos as f32, sin as f32)
            })
            .collect();
        let color = ui.visuals().strong_text_color();
        ui.painter().add(Shape::line(points, Stroke::new(2.5, color)));
        ui.ctx().request_repaint_after(STEP);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(ctx: &egui::Context, time: f64) -> egui::FullOutput {
        let input = egui::RawInput { time: Some(time), ..Default::default() };
        let mut out = ctx.run_ui(input, |ui| {
            spinner(ui);
        });
        // No renderer here takes the font texture: dropped on purpose.
        out.textures_delta.clear();
        out
    }

    #[test]
    fn asks_for_the_next_frame_a_step_later_not_at_once() {
        let ctx = egui::Context::default();
        // The first pass of a context asks for a second one; the steady state is what counts.
        for frame in 0..3 {
            let out = run(&ctx, f64::from(frame) * 0.016);
            if frame == 2 {
                let delay = out.viewport_output[&egui::ViewportId::ROOT].repaint_delay;
                assert_eq!(delay, STEP, "the spinner alone must not ask for every frame");
            }
        }
    }

    #[test]
    fn turns_once_a_step() {
        let ctx = egui::Context::default();
        let shapes = |time: f64| {
            let out = run(&ctx, time);
            out.shapes.into_iter().map(|s| format!("{:?}", s.shape)).collect::<Vec<_>>()
        };
        let (a, b, c) = (shapes(1.0), shapes(1.05), shapes(1.15));
        assert_eq!(a, b, "within a step the arc stands still");
        assert_ne!(b, c, "a step later it has turned");
    }
}
