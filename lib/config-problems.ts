/**
 * Start-up validation collects every problem before failing, so an operator fixes a
 * broken config in one pass instead of one error per restart.
 */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Accumulates problems found while reading one config object. */
export class Problems {
  private readonly list: string[] = [];

  add(path: string, message: string): void {
    this.list.push(`${path}: ${message}`);
  }

  get all(): readonly string[] {
    return this.list;
  }

  /** Throws one ConfigError listing every problem, if there were any. */
  throwIfAny(): void {
    if (this.list.length) throw new ConfigError(this.list);
  }
}
