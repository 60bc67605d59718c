//! Load benchmark servers; see `bench/run.sh`.
