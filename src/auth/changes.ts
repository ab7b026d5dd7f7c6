/**
 * Who to tell after a store changed who may do what (a team, a session, a token): open streams
 * act on it at once instead of at their next periodic check.
 */
export class ChangeListeners {
  private listeners: (() => void)[] = [];

  add(listener: () => void): void {
    this.listeners.push(listener);
  }

  notify(): void {
    for (const l of this.listeners) l();
  }
}
