/**
 * The scan's deadline timer, fired by the test (ScanOptions.setTimer): no test waits on the wall clock
 * for a deadline to pass.
 */
export interface ManualTimer {
  set: (fire: () => void, ms: number) => () => void;
  /** runs the armed callback, as the deadline passing would; false when nothing is armed */
  fire: () => boolean;
  readonly armed: boolean;
  /** the delay the scan asked for */
  readonly ms: number | undefined;
  readonly disarmed: boolean;
}

export function manualTimer(): ManualTimer {
  let callback: (() => void) | undefined;
  let ms: number | undefined;
  let disarmed = false;
  return {
    set(fire, delay) {
      callback = fire;
      ms = delay;
      return () => {
        disarmed = true;
        callback = undefined;
      };
    },
    fire() {
      const armed = callback;
      callback = undefined;
      armed?.();
      return armed !== undefined;
    },
    get armed() {
      return callback !== undefined;
    },
    get ms() {
      return ms;
    },
    get disarmed() {
      return disarmed;
    },
  };
}
