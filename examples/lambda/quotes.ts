/** A quote as the API serves it. */
export interface Quote {
  readonly quote: string;
  readonly author: string;
}

/** The built-in list the API picks from. */
export const QUOTES: readonly Quote[] = [
  { quote: 'Everything fails, all the time.', author: 'Werner Vogels' },
  { quote: 'Hope is not a strategy.', author: 'Traditional SRE saying' },
  {
    quote:
      'A distributed system is one in which the failure of a computer you did not even know existed can render your own computer unusable.',
    author: 'Leslie Lamport',
  },
  { quote: 'Fail fast, recover gracefully.', author: 'Release It! folklore' },
  { quote: 'The best way to avoid failure is to fail constantly.', author: 'Netflix engineering' },
  { quote: 'Simplicity is prerequisite for reliability.', author: 'Edsger W. Dijkstra' },
  { quote: 'Slow is smooth, and smooth is fast.', author: 'Unknown' },
];

/** Picks a quote; `random` is injectable so tests can choose. */
export function pickQuote(random: () => number = Math.random): Quote {
  const index = Math.min(QUOTES.length - 1, Math.floor(random() * QUOTES.length));
  return QUOTES[index] as Quote;
}
