import { type Socket, createConnection } from "node:net";

/** A RESP2 reply: bulk strings stay raw bytes so the REST layer can base64 them exactly. */
export type RespValue = Buffer | number | null | RespError | RespValue[] | "OK" | string;

/** An error reply from Redis (`-ERR …`). */
export class RespError {
  constructor(readonly message: string) {}
}

/**
 * A minimal pipelined RESP2 client over one TCP connection: commands are written
 * in order and replies matched FIFO. A group of commands written in one call
 * (MULTI … EXEC) cannot interleave with another caller's.
 */
export class RespClient {
  private socket: Socket | null = null;
  private buffer: Buffer = Buffer.alloc(0);
  private waiting: Array<{ resolve: (v: RespValue) => void; reject: (e: Error) => void }> = [];

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {}

  /** Sends commands as one write and resolves with their replies, in order. */
  async send(commands: Array<Array<string | number>>): Promise<RespValue[]> {
    const socket = await this.connect();
    const replies = commands.map(() => new Promise<RespValue>((resolve, reject) => this.waiting.push({ resolve, reject })));
    socket.write(Buffer.concat(commands.map(encode)));
    return Promise.all(replies);
  }

  close(): void {
    this.socket?.destroy();
    this.socket = null;
  }

  private connect(): Promise<Socket> {
    if (this.socket) return Promise.resolve(this.socket);
    return new Promise((resolve, reject) => {
      const socket = createConnection({ host: this.host, port: this.port });
      socket.once("connect", () => {
        this.socket = socket;
        resolve(socket);
      });
      socket.once("error", (err) => {
        this.fail(err);
        reject(err);
      });
      socket.on("close", () => {
        this.socket = null;
        this.fail(new Error("redis connection closed"));
      });
      socket.on("data", (chunk) => this.onData(chunk));
    });
  }

  private fail(err: Error): void {
    const pending = this.waiting;
    this.waiting = [];
    this.buffer = Buffer.alloc(0);
    for (const w of pending) w.reject(err);
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const parsed = parse(this.buffer, 0);
      if (!parsed) return;
      this.buffer = this.buffer.subarray(parsed.end);
      this.waiting.shift()?.resolve(parsed.value);
    }
  }
}

function encode(args: Array<string | number>): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = Buffer.from(String(a), "utf8");
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from("\r\n"));
  }
  return Buffer.concat(parts);
}

function parse(buf: Buffer, at: number): { value: RespValue; end: number } | null {
  if (at >= buf.length) return null;
  const lineEnd = buf.indexOf("\r\n", at);
  if (lineEnd < 0) return null;
  const type = String.fromCharCode(buf[at]!);
  const line = buf.toString("utf8", at + 1, lineEnd);
  const next = lineEnd + 2;
  switch (type) {
    case "+":
      return { value: line, end: next };
    case "-":
      return { value: new RespError(line), end: next };
    case ":":
      return { value: Number(line), end: next };
    case "$": {
      const len = Number(line);
      if (len < 0) return { value: null, end: next };
      if (buf.length < next + len + 2) return null;
      return { value: Buffer.from(buf.subarray(next, next + len)), end: next + len + 2 };
    }
    case "*": {
      const n = Number(line);
      if (n < 0) return { value: null, end: next };
      const items: RespValue[] = [];
      let pos = next;
      for (let i = 0; i < n; i++) {
        const item = parse(buf, pos);
        if (!item) return null;
        items.push(item.value);
        pos = item.end;
      }
      return { value: items, end: pos };
    }
    default:
      throw new Error(`unexpected RESP type ${JSON.stringify(type)}`);
  }
}
