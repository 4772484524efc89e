// Pan and zoom as a value, apart from the events that change it (as d3-zoom's Transform):
// screen = graph · k + (x, y). Every view change (fit, centre on a node, wheel zoom at the
// pointer, drag) is a pure function from one Transform to the next, tested under node.

// Below this zoom a 12 px label is drawn under 9 px: "Fit" stops here and the user pans
// (a 3,700 px tall expanded graph stays readable instead of shrinking to a sliver).
export const MIN_READABLE = 0.75;
export const MIN_ZOOM = 0.02;
export const MAX_ZOOM = 4;
const MARGIN = 20;

export class Transform {
  constructor(k = 1, x = 0, y = 0) {
    this.k = k;
    this.x = x;
    this.y = y;
  }

  // Graph coordinates → screen coordinates.
  apply([gx, gy]) {
    return [gx * this.k + this.x, gy * this.k + this.y];
  }

  // Screen coordinates → graph coordinates.
  invert([sx, sy]) {
    return [(sx - this.x) / this.k, (sy - this.y) / this.k];
  }

  translateBy(dx, dy) {
    return new Transform(this.k, this.x + dx, this.y + dy);
  }

  // Zoom to k (clamped) keeping the graph point under `screen` where it is.
  zoomAt([sx, sy], k) {
    const k1 = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, k));
    const [gx, gy] = this.invert([sx, sy]);
    return new Transform(k1, sx - gx * k1, sy - gy * k1);
  }

  toString() {
    return `translate(${this.x.toFixed(1)},${this.y.toFixed(1)}) scale(${this.k.toFixed(4)})`;
  }
}

// The whole graph in view when that keeps text readable; otherwise the readable zoom,
// centred across when it fits across, with the top of the graph at the top.
export function fitTransform(viewW, viewH, graphW, graphH, { maxK = 1.2, minK = MIN_READABLE } = {}) {
  const whole = Math.min(maxK, (viewW - 2 * MARGIN) / graphW, (viewH - 2 * MARGIN) / graphH);
  const k = Math.max(Math.min(minK, maxK), whole);
  const x = graphW * k <= viewW - 2 * MARGIN ? (viewW - graphW * k) / 2 : MARGIN;
  return new Transform(k, x, MARGIN);
}

// A node's box centred in the view at zoom max(current, readable).
export function centerTransform(viewW, viewH, box, current) {
  const k = Math.max(current.k, 0.8);
  return new Transform(k, viewW / 2 - (box.x + box.w / 2) * k, viewH / 2 - (box.y + box.h / 2) * k);
}
