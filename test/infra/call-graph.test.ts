import { describe, expect, it } from 'vitest';
import { createAnalyzer } from './call-graph.js';

const fixture = (name: string) => new URL(`./fixtures/call-graph/${name}.ts`, import.meta.url).pathname;
const HANDLERS = ['handler-read', 'handler-list', 'handler-unwired', 'handler-destructure'];
const analyze = createAnalyzer(HANDLERS.map(fixture));
const actionsOf = (name: string) => [...analyze(fixture(name))].sort();

describe('the call-graph analyzer', () => {
  it('follows production() into the functions an object literal names, and a port into the class instantiated behind it', () => {
    // read → a private helper (GetItem); remove is inherited from the base class (DeleteItem);
    // write is never called (no PutItem); OtherPort is never instantiated (no ecs:UpdateService)
    expect(actionsOf('handler-read')).toEqual(['dynamodb:DeleteItem', 'dynamodb:GetItem']);
  });

  it('counts a paginator as its command, and does not reach a private method through a Map#get', () => {
    expect(actionsOf('handler-list')).toEqual(['dynamodb:Scan']);
  });

  it('reaches an object-literal method taken out by destructuring', () => {
    expect(actionsOf('handler-destructure')).toEqual(['sns:Publish']);
  });

  it('reaches nothing through an object literal whose properties nobody calls', () => {
    expect(actionsOf('handler-unwired')).toEqual([]);
  });
});
