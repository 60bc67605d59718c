//! The HTTP limit of this shape: a bare hyper HTTP/1.1 server that answers
//! every POST with a fixed JSON-RPC reply (as large as the `echo` call's),
//! or with a fixed `401` when the request has no `Authorization` header.
//! No routing, no parsing of the body beyond reading it.
//!
//! `bench-hyper PORT`

use std::convert::Infallible;

use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, body::Bytes, server::conn::http1, service::service_fn};
use hyper_util::rt::TokioIo;

const REPLY: &str = r#"{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hello"}],"isError":false}}"#;

async fn answer(
    request: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let authorized = request.headers().contains_key(hyper::header::AUTHORIZATION);
    let _ = request.into_body().collect().await;
    let response = if authorized {
        Response::builder()
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from_static(REPLY.as_bytes())))
    } else {
        Response::builder()
            .status(401)
            .header("www-authenticate", r#"Bearer error="invalid_token""#)
            .body(Full::new(Bytes::new()))
    };
    Ok(response.expect("a valid response"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = std::env::args()
        .nth(1)
        .ok_or("usage: bench-hyper PORT")?
        .parse()?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service_fn(answer))
                .await;
        });
    }
}
