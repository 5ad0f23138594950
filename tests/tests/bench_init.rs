//! Benchmark (not a timed test): a function's init time, process start to its first Runtime API
//! `next` request, over repeated cold starts. `make bench` runs it on the release binary.

use std::time::Duration;
use toolkit_tests::function_binary;
use toolkit_tests::lambda::LambdaEmulator;

#[test]
#[ignore = "benchmark: run with `make bench`"]
fn vpc_link_waiter_init_time() {
    let binary = function_binary("vpc-link-waiter");
    let size = std::fs::metadata(&binary).unwrap().len();
    let mut samples: Vec<Duration> = (0..20)
        .map(|_| {
            let mut lambda = LambdaEmulator::start(Duration::from_secs(10));
            lambda.spawn(&binary, &[]);
            assert!(toolkit_tests::wait_for(Duration::from_secs(10), || lambda.init_time().is_some()));
            lambda.init_time().unwrap()
        })
        .collect();
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{}: {:.1} MiB; init over {} cold starts: min {:.1} ms, median {:.1} ms, max {:.1} ms",
        binary.display(),
        size as f64 / (1024.0 * 1024.0),
        samples.len(),
        ms(samples[0]),
        ms(samples[samples.len() / 2]),
        ms(samples[samples.len() - 1])
    );
}
