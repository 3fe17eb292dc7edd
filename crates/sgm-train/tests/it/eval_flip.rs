//! Test-time flip (`eval_flip`): an embedding becomes the mean of the image's and its mirror image's, so a set and
//! its mirrored copy embed alike; without it they do not. The setting survives the configuration's round trip.

use candle_core::Device;
use sgm_data::{generate_synth, ImageSet, Split, SynthConfig};
use sgm_train::train::{TrainConfig, Trainer};

fn mirrored(set: &ImageSet) -> ImageSet {
    let mut out = set.clone();
    for row in out.pixels.chunks_mut(set.width) {
        row.reverse();
    }
    out
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

#[test]
fn flipped_embeddings_are_the_mean_over_the_mirror_image() {
    // Images at the model's input size: a resize would not commute exactly with the mirror.
    let synth =
        SynthConfig { size: 32, train_per_class: 2, valid_per_class: 1, test_per_class: 1, ..Default::default() };
    let set = generate_synth(&synth, Split::Train).unwrap();
    let mirror = mirrored(&set);
    let mut cfg = TrainConfig { eval_batch_size: 5, ..Default::default() };
    cfg.model.input_size = 32;
    cfg.model.num_classes = Some(8);
    let mut trainer = Trainer::new(cfg, Device::Cpu).unwrap();
    let plain = |t: &Trainer, s: &ImageSet| t.embed(s).unwrap();
    let (a, la) = plain(&trainer, &set);
    let (b, lb) = plain(&trainer, &mirror);
    // Without the flip, a face and its mirror image embed differently (else the rest proves nothing).
    assert!(max_diff(a.as_slice(), b.as_slice()) > 1e-3);

    trainer.set_eval_flip(true);
    let (fa, fla) = plain(&trainer, &set);
    let (fb, _) = plain(&trainer, &mirror);
    let d = max_diff(fa.as_slice(), fb.as_slice());
    assert!(d < 1e-5, "a set and its mirror embed alike with the flip: {d}");
    let mean: Vec<f32> = a.as_slice().iter().zip(b.as_slice()).map(|(x, y)| (x + y) / 2.0).collect();
    assert!(max_diff(fa.as_slice(), &mean) < 1e-5, "the flipped embedding is the mean of the two");
    // The class head's logits are averaged the same way.
    let (la, lb, fla) = (la.unwrap(), lb.unwrap(), fla.unwrap());
    let mean: Vec<f32> = la.iter().zip(&lb).map(|(x, y)| (x + y) / 2.0).collect();
    assert!(max_diff(&fla, &mean) < 1e-5);
}

#[test]
fn eval_flip_round_trips_and_is_left_out_when_off() {
    let off = TrainConfig::default();
    assert!(!off.to_toml().unwrap().contains("eval_flip"), "off is the default and is not written");
    let on = TrainConfig { eval_flip: true, ..Default::default() };
    let text = on.to_toml().unwrap();
    assert!(text.contains("eval_flip = true"), "{text}");
    assert!(TrainConfig::from_toml_str(&text, std::path::Path::new("test.toml")).unwrap().eval_flip);
}
