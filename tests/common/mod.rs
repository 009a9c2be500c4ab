//! Helpers shared by the integration tests.

use std::io::{BufRead as _, Write as _};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::Duration;

/// The body of a [`LockHolder`] child test: when `env` names a database, runs `lock_sql` (which
/// must leave an exclusive lock with a pending write), says `holder: locked`, waits for a line
/// on standard input, commits and says `holder: committed`. Otherwise it returns at once.
pub fn hold_lock_when_asked(env: &str, lock_sql: &str) {
    let Some(path) = std::env::var_os(env) else { return };
    let writer = rusqlite::Connection::open(path).expect("writer");
    writer.execute_batch(lock_sql).expect("exclusive lock with a pending write");
    // On a line of its own: the harness has already printed "test NAME ... ".
    println!("\nholder: locked");
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    writer.execute_batch("COMMIT").expect("commit");
    println!("holder: committed");
}

/// Another process holding an exclusive lock on a database (POSIX locks belong to a process, so
/// a lock taken in the test's own process would not stop its reads).
///
/// `child_test` is a test of the same test binary that returns at once unless `env` names a
/// file; then it takes the lock with a pending write, prints `holder: locked`, waits for a
/// line on its standard input, commits and prints `holder: committed`.
pub struct LockHolder {
    child: Child,
    lines: Receiver<String>,
}

impl LockHolder {
    /// Starts the holder and waits until it holds the lock.
    pub fn start(child_test: &str, env: &str, path: &Path) -> Self {
        let mut child = Command::new(std::env::current_exe().expect("test binary"))
            .args([child_test, "--exact", "--nocapture", "--test-threads=1"])
            .env(env, path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("lock holder");
        // Lines arrive on a channel, so a holder that never answers fails the test.
        let (tx, lines) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let holder = Self { child, lines };
        holder.wait_for("holder: locked");
        holder
    }

    fn wait_for(&self, want: &str) {
        loop {
            match self.lines.recv_timeout(Duration::from_secs(30)) {
                Ok(line) if line == want => break,
                Ok(_) => {}
                Err(e) => panic!("the lock holder never said '{want}': {e}"),
            }
        }
    }

    /// Tells the holder to commit and waits until it has and has exited.
    pub fn commit(mut self) {
        writeln!(self.child.stdin.take().expect("stdin"), "commit").expect("tell the holder to commit");
        self.wait_for("holder: committed");
        assert!(self.child.wait().expect("holder exit").success());
    }
}
