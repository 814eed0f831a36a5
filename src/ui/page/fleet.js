// Placeholder until this view lands: shows where it will be.
import { h } from './dom.js';

export function render(main) {
  main.append(h('p', { class: 'muted' }, 'This view is being built.'));
}
