// A live order book from the stream: a snapshot, then deltas holding only the levels that changed
// (quantity 0: the level is gone). Prices stay the API's decimal strings; order is by value.

export class LiveBook {
  constructor() {
    this.bids = new Map();
    this.asks = new Map();
    this.sequence = null;
  }

  /** Apply a REST book, a stream `snapshot` or a `delta`. */
  apply(message) {
    if (message.type !== "delta") {
      this.bids.clear();
      this.asks.clear();
    }
    for (const [side, levels] of [[this.bids, message.bids], [this.asks, message.asks]]) {
      for (const [price, quantity] of levels || []) {
        if (quantity === 0) side.delete(price);
        else side.set(price, quantity);
      }
    }
    this.sequence = message.seq ?? message.sequence ?? this.sequence;
  }

  /** Bids, best (highest) first, as [price, quantity]. */
  bidLevels() {
    return [...this.bids].sort((a, b) => +b[0] - +a[0]);
  }

  /** Asks, best (lowest) first. */
  askLevels() {
    return [...this.asks].sort((a, b) => +a[0] - +b[0]);
  }

  /**
   * The highest ask a market buy of `quantity` lots reaches now, as the exchange prices its hold
   * (the deepest level if the asks cannot fill it; null for an empty side). The exchange leaves the
   * buyer's own asks out, which this public book cannot tell apart.
   */
  worstAsk(quantity) {
    let left = quantity;
    let worst = null;
    for (const [price, size] of this.askLevels()) {
      worst = price;
      left -= size;
      if (left <= 0) break;
    }
    return worst;
  }
}
