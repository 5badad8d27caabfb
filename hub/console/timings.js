// Moments of a call's set-up, for `make bench` (bench/bench_call.py) to set beside the booth's
// time.time(). They are wall-clock times: performance.timeOrigin + performance.now() is the wall
// clock at the page's load plus the monotonic clock since, and the two clocks part as the page
// ages (5 ms a second on our build machine), so a console open for a minute looked 300 ms slower.
export const wallNow = () => Date.now();
