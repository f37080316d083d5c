// One WebSocket to /v1/stream shared by every view. Channels are reference-counted; a message whose
// prev_seq is not the last seq seen on its channel means something was missed, so the channel is
// subscribed afresh (a book then starts again from a snapshot). The private `orders` channel
// authenticates with the signed-in key first. The socket reconnects by itself while anyone listens.
// On a standby the socket is relayed to the process holding the books; when that process dies the
// socket closes (1012) and reconnects, and a book channel refused while its book moves is subscribed
// again after a short wait (with the "book moving" notice) until the new holder serves it.

import { apiKey, bookMoving, onKeyChange } from "./api.js";

const PRIVATE = new Set(["orders", "balances", "positions"]);
const MOVING = new Set(["book_unavailable", "book_moving", "book_elsewhere"]); // a book not served here now
const MOVING_FOR_MS = 30_000; // how long a channel is subscribed again while its book moves

class Stream {
  constructor() {
    this.handlers = new Map(); // channel -> Set(handler)
    this.last = new Map(); // channel -> last seq seen (undefined right after subscribing)
    this.socket = null;
    this.ready = false;
    this.authenticated = false;
    this.retry = 500;
    this.status = new Set();
    this.moving = new Map(); // channel -> {since, wait, timer} while its book moves
    onKeyChange(() => this.restart());
  }

  /** Listen on `channel`; `handler(message)` gets its messages, and `{type: "error"}` ones for it. */
  subscribe(channel, handler) {
    let set = this.handlers.get(channel);
    const fresh = !set;
    if (fresh) {
      set = new Set();
      this.handlers.set(channel, set);
    }
    set.add(handler);
    if (!this.socket) this.connect();
    else if (fresh && this.ready) this.sendSubscribe([channel]);
    return () => this.unsubscribe(channel, handler);
  }

  unsubscribe(channel, handler) {
    const set = this.handlers.get(channel);
    if (!set) return;
    set.delete(handler);
    if (set.size) return;
    this.handlers.delete(channel);
    this.last.delete(channel);
    this.settled(channel);
    if (this.ready) this.send({ op: "unsubscribe", channels: [channel] });
  }

  /** `listener(state)` with "open", "closed" or "connecting". */
  onStatus(listener) {
    this.status.add(listener);
    return () => this.status.delete(listener);
  }

  emitStatus(state) {
    for (const listener of this.status) listener(state);
  }

  connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${scheme}//${location.host}/v1/stream`);
    this.socket = socket;
    this.ready = false;
    this.authenticated = false;
    this.emitStatus("connecting");
    socket.addEventListener("open", () => {
      if (socket !== this.socket) return;
      this.ready = true;
      this.retry = 500;
      this.emitStatus("open");
      const key = apiKey();
      if (key) this.send({ op: "auth", key });
      const channels = [...this.handlers.keys()].filter((c) => !PRIVATE.has(c));
      if (channels.length) this.sendSubscribe(channels);
    });
    socket.addEventListener("message", (event) => this.receive(JSON.parse(event.data)));
    socket.addEventListener("close", () => {
      if (socket !== this.socket) return;
      this.socket = null;
      this.ready = false;
      this.emitStatus("closed");
      if (this.handlers.size) {
        setTimeout(() => this.socket || !this.handlers.size || this.connect(), this.retry);
        this.retry = Math.min(this.retry * 2, 10_000);
      }
    });
  }

  restart() {
    const socket = this.socket;
    this.socket = null;
    if (socket) socket.close();
    this.last.clear();
    if (this.handlers.size) this.connect();
  }

  send(message) {
    if (this.socket && this.ready) this.socket.send(JSON.stringify(message));
  }

  sendSubscribe(channels) {
    const allowed = channels.filter((c) => !PRIVATE.has(c) || this.authenticated);
    for (const channel of allowed) this.last.set(channel, undefined);
    if (allowed.length) this.send({ op: "subscribe", channels: allowed });
  }

  receive(message) {
    if (message.type === "authenticated") {
      this.authenticated = true;
      this.sendSubscribe([...this.handlers.keys()].filter((c) => PRIVATE.has(c)));
      return;
    }
    if (message.type === "subscribed") {
      for (const served of message.channels || []) this.settled(served); // its book is served again
      return;
    }
    const channel = message.channel;
    if (!channel || !this.handlers.has(channel)) return;
    if (message.type === "error" && MOVING.has(message.code) && this.resubscribeLater(channel)) return;
    if (message.type !== "error") this.settled(channel);
    if (message.type !== "error" && message.seq !== undefined) {
      const last = this.last.get(channel);
      if (last !== undefined && message.prev_seq !== last) {
        this.send({ op: "unsubscribe", channels: [channel] }); // a gap: start the channel again
        this.sendSubscribe([channel]);
        return;
      }
      this.last.set(channel, message.seq);
    }
    for (const handler of this.handlers.get(channel)) handler(message);
  }

  /** Subscribe `channel` again after a short wait (its book is moving); false once it waited too long. */
  resubscribeLater(channel) {
    let moving = this.moving.get(channel);
    if (!moving) {
      moving = { since: Date.now(), wait: 250, timer: null };
      this.moving.set(channel, moving);
      bookMoving(+1);
    }
    if (Date.now() - moving.since > MOVING_FOR_MS) {
      this.settled(channel);
      return false;
    }
    clearTimeout(moving.timer);
    moving.timer = setTimeout(() => {
      if (this.handlers.has(channel)) this.sendSubscribe([channel]);
    }, moving.wait);
    moving.wait = Math.min(moving.wait * 2, 2_000);
    return true;
  }

  /** `channel` is served (or given up on, or left): stop waiting for its book. */
  settled(channel) {
    const moving = this.moving.get(channel);
    if (!moving) return;
    clearTimeout(moving.timer);
    this.moving.delete(channel);
    bookMoving(-1);
  }
}

export const stream = new Stream();
