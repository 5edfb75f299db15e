import { describe, expect, it } from 'vitest';
import { escapeHtml, html } from './html.js';

describe('escapeHtml', () => {
  it('escapes the five characters that can change HTML meaning', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
  });
});

describe('html templates', () => {
  it('escapes interpolated values and keeps nested templates as markup', () => {
    const name = '<img src=x onerror=alert(1)>';
    const inner = html`<b>${name}</b>`;
    expect(html`<p>${inner} ${[html`<i>${1}</i>`, '<u>']}</p>`.value).toBe(
      '<p><b>&lt;img src=x onerror=alert(1)&gt;</b> <i>1</i>&lt;u&gt;</p>',
    );
  });

  it('renders null, undefined and false as nothing, and true as text', () => {
    expect(html`[${null}${undefined}${false}${true}]`.toString()).toBe('[true]');
  });
});
