//! A minimal HTTP/1.1 server on std::net: a thread per connection reads one
//! bounded request, the one answering thread replies, the connection closes.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use super::api::{MAX_TARGET, Reply};

/// Bytes of request line and headers accepted (a browser sends about 1 KiB).
const MAX_HEAD: u64 = 16 * 1024;
/// Connections read at once; more get 503 (a local UI has one user).
const MAX_CONNECTIONS: usize = 64;
/// How long a client may take to send its request or read its answer.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);

/// A request read off a connection: its method and target.
pub struct Request {
    pub method: String,
    pub target: String,
    answer: mpsc::Sender<Reply>,
}

impl Request {
    pub fn respond(self, reply: Reply) {
        // The connection may have gone away meanwhile: nothing to do then.
        let _ = self.answer.send(reply);
    }
}

/// Accepts connections on `listener` forever, sending each well-formed
/// request to `requests`; malformed ones are answered here.
pub fn accept(listener: TcpListener, requests: mpsc::Sender<Request>) {
    let open = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        if open.load(Ordering::Acquire) >= MAX_CONNECTIONS {
            let _ = write_reply(stream, &Reply::error(503, "too many connections"));
            continue;
        }
        open.fetch_add(1, Ordering::AcqRel);
        let open = Arc::clone(&open);
        let requests = requests.clone();
        std::thread::spawn(move || {
            serve_connection(stream, &requests);
            open.fetch_sub(1, Ordering::AcqRel);
        });
    }
}

fn serve_connection(stream: TcpStream, requests: &mpsc::Sender<Request>) {
    let _ = stream.set_read_timeout(Some(CLIENT_TIMEOUT));
    let _ = stream.set_write_timeout(Some(CLIENT_TIMEOUT));
    let Ok(reader) = stream.try_clone() else {
        return;
    };
    let reply = match read_head(BufReader::new(reader.take(MAX_HEAD))) {
        Ok((method, target)) => {
            let (answer, answered) = mpsc::channel();
            let sent = requests.send(Request {
                method,
                target,
                answer,
            });
            match sent.ok().and_then(|_| answered.recv().ok()) {
                Some(reply) => reply,
                None => Reply::error(503, "the server is stopping"),
            }
        }
        Err(Some(reply)) => reply,
        // The client went away or sent nothing.
        Err(None) => return,
    };
    let _ = write_reply(stream, &reply);
}

/// The request line's method and target; headers are read and ignored
/// (the API takes no body).
fn read_head(mut reader: impl BufRead) -> Result<(String, String), Option<Reply>> {
    let mut line = String::new();
    match reader.read_line(&mut line) {
        Ok(0) | Err(_) => return Err(None),
        Ok(_) => {}
    }
    if !line.ends_with('\n') {
        return Err(Some(Reply::error(
            414,
            &format!("request line longer than {MAX_TARGET} bytes"),
        )));
    }
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(Some(Reply::error(400, "malformed request line")));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(Some(Reply::error(505, "HTTP/1.x only")));
    }
    let (method, target) = (method.to_string(), target.to_string());
    loop {
        let mut header = String::new();
        match reader.read_line(&mut header) {
            Ok(0) | Err(_) => return Err(Some(Reply::error(431, "request headers too large"))),
            Ok(_) if header.trim_end().is_empty() => return Ok((method, target)),
            Ok(_) if !header.ends_with('\n') => {
                return Err(Some(Reply::error(431, "request headers too large")));
            }
            Ok(_) => {}
        }
    }
}

fn write_reply(mut stream: TcpStream, reply: &Reply) -> std::io::Result<()> {
    let reason = match reply.status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        414 => "URI Too Long",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Error",
    };
    let head = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Type: {}\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n",
        reply.status,
        reply.content_type,
        reply.body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(&reply.body)?;
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_are_bounded_and_parsed() {
        let ok = read_head(&b"GET /api/overview?x=1 HTTP/1.1\r\nHost: a\r\n\r\n"[..]);
        assert_eq!(ok.ok(), Some(("GET".into(), "/api/overview?x=1".into())));
        let status = |head: &[u8]| match read_head(BufReader::new(head.take(64))) {
            Err(Some(r)) => r.status,
            other => panic!("not an error reply: {:?}", other.ok()),
        };
        assert_eq!(status(b"nonsense\r\n\r\n"), 400);
        assert_eq!(
            status(format!("GET /{} HTTP/1.1\r\n", "a".repeat(100)).as_bytes()),
            414
        );
        assert_eq!(
            status(b"GET / HTTP/1.1\r\nX: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
            431
        );
        assert_eq!(status(b"GET / SPDY/3\r\n\r\n"), 505);
        assert!(matches!(read_head(&b""[..]), Err(None)));
    }
}
