/** Lets waiting requests (an early /healthz) be answered between two steps of the start. */
export const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
