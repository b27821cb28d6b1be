//! The connection the legacy TLS capture and the STARTTLS preludes talk over: a TCP socket,
//! or (for the fuzz targets) a replay of a server's bytes.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A byte stream with per-call timeouts.
pub(crate) trait Wire: Read + Write {
    fn read_wait(&mut self, wait: Duration);
    fn write_wait(&mut self, wait: Duration);
}

impl Wire for TcpStream {
    fn read_wait(&mut self, wait: Duration) {
        let _ = self.set_read_timeout(Some(wait));
    }

    fn write_wait(&mut self, wait: Duration) {
        let _ = self.set_write_timeout(Some(wait));
    }
}

/// A server that says `input` (in reads of at most `chunk` bytes) then closes; what is
/// sent to it is dropped.
pub(crate) struct Replay<'a> {
    pub input: &'a [u8],
    pub chunk: usize,
}

impl Read for Replay<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.chunk.max(1)).min(self.input.len());
        buf[..n].copy_from_slice(&self.input[..n]);
        self.input = &self.input[n..];
        Ok(n)
    }
}

impl Write for Replay<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Wire for Replay<'_> {
    fn read_wait(&mut self, _: Duration) {}
    fn write_wait(&mut self, _: Duration) {}
}
