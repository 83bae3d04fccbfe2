/**
 * The Apex side (apex/) can't be compiled here, so these tests catch what can be caught without an
 * org: every class and trigger parses as Apex, every metadata file is well-formed XML with the API
 * version we ship, and the signature vectors shared with the TypeScript verifier appear, unchanged,
 * in the Apex signer test (so the two sides can't drift apart).
 */
import { createHmac } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { ApexErrorListener, ApexParserFactory } from '@apexdevtools/apex-parser';
import { XMLValidator } from 'fast-xml-parser';
import { loadSignatureVectors } from '../helpers/signature-vectors.js';

/** Tests run from the repository root (jest's rootDir). */
const APEX_DIR = resolve('apex');
const SIGNER_TEST = join(APEX_DIR, 'force-app/main/default/classes/ForcehookSignerTest.cls');
const API_VERSION = '62.0';

type ApexUnit = 'class' | 'trigger';

class CollectingErrorListener extends ApexErrorListener {
  readonly errors: string[] = [];

  override apexSyntaxError(line: number, column: number, msg: string): void {
    this.errors.push(`${line}:${column} ${msg}`);
  }
}

/** Lexer and parser errors as "line:column message"; empty when the source parses. */
function syntaxErrors(source: string, unit: ApexUnit): string[] {
  const listener = new CollectingErrorListener();
  const { parser } = ApexParserFactory.createLexerAndParser(source, listener);
  if (unit === 'class') {
    parser.compilationUnit();
  } else {
    parser.triggerUnit();
  }
  return listener.errors;
}

function filesUnder(dir: string, keep: (path: string) => boolean): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter(keep)
    .map((path) => join(dir, path))
    .sort();
}

/** The Apex single-quoted literal for a string, escaped as ForcehookSignerTest.cls spells it. */
function apexLiteral(value: string): string {
  const escaped = value
    .replace(/\\/g, '\\\\')
    .replace(/'/g, "\\'")
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r')
    .replace(/\t/g, '\\t');
  return `'${escaped}'`;
}

const apexSources = filesUnder(APEX_DIR, (path) => path.endsWith('.cls') || path.endsWith('.trigger'));
const metadataFiles = filesUnder(APEX_DIR, (path) => path.endsWith('-meta.xml'));
const vectors = loadSignatureVectors();

describe('apex/ sources', () => {
  test('there are classes and triggers to check', () => {
    expect(apexSources.filter((path) => path.endsWith('.cls')).length).toBeGreaterThan(0);
    expect(apexSources.filter((path) => path.endsWith('.trigger')).length).toBeGreaterThan(0);
  });

  test('the parser reports a broken snippet (so the syntax tests can fail)', () => {
    expect(syntaxErrors('public class Broken { void f() { Integer i = 1 } }', 'class')).not.toEqual([]);
    expect(syntaxErrors("public class Broken { String s = \"double quotes are JavaScript\"; }", 'class')).not.toEqual([]);
    expect(syntaxErrors('trigger Broken on Contact (after insert) { Foo.bar(; }', 'trigger')).not.toEqual([]);
    expect(syntaxErrors('public class Fine { Long ts = Datetime.now().getTime() / 1000; }', 'class')).toEqual([]);
  });

  test.each(apexSources.map((path) => relative(APEX_DIR, path)))('%s parses as Apex', (path) => {
    const unit: ApexUnit = path.endsWith('.trigger') ? 'trigger' : 'class';
    const errors = syntaxErrors(readFileSync(join(APEX_DIR, path), 'utf8'), unit);
    expect(errors.map((error) => `${path}:${error}`)).toEqual([]);
  });

  test.each(apexSources.map((path) => relative(APEX_DIR, path)))(`%s has a -meta.xml (API ${API_VERSION}, Active)`, (path) => {
    const meta = readFileSync(join(APEX_DIR, `${path}-meta.xml`), 'utf8');
    expect(meta).toContain(`<apiVersion>${API_VERSION}</apiVersion>`);
    expect(meta).toContain('<status>Active</status>');
  });

  test('sfdx-project.json uses the same API version', () => {
    const project = JSON.parse(readFileSync(join(APEX_DIR, 'sfdx-project.json'), 'utf8')) as { sourceApiVersion?: string };
    expect(project.sourceApiVersion).toBe(API_VERSION);
  });
});

describe('apex/ metadata', () => {
  test('there is metadata to check', () => {
    expect(metadataFiles.length).toBeGreaterThan(apexSources.length);
  });

  test.each(metadataFiles.map((path) => relative(APEX_DIR, path)))('%s is well-formed XML', (path) => {
    const result = XMLValidator.validate(readFileSync(join(APEX_DIR, path), 'utf8'));
    const problem = result === true ? null : `${path}:${result.err.line}:${result.err.col} ${result.err.msg}`;
    expect(problem).toBeNull();
  });
});

describe('signature vectors shared with ForcehookSignerTest.cls', () => {
  const signerTest = readFileSync(SIGNER_TEST, 'utf8');

  test('there are enough of them', () => {
    expect(vectors.length).toBeGreaterThanOrEqual(5);
  });

  test.each(vectors)('$name: the fixture is a real HMAC', (vector) => {
    expect(vector.secret.startsWith('whsec_')).toBe(true);
    const key = Buffer.from(vector.secret.slice('whsec_'.length), 'base64');
    const mac = createHmac('sha256', key).update(`${vector.id}.${vector.timestamp}.${vector.body}`, 'utf8').digest('base64');
    expect(vector.signature).toBe(`v1,${mac}`);
  });

  test.each(vectors)('$name: appears in the Apex test, unchanged', (vector) => {
    const parts: [part: string, apexText: string][] = [
      ['secret', apexLiteral(vector.secret)],
      ['id', apexLiteral(vector.id)],
      ['timestamp', `${vector.timestamp}L`],
      ['body', apexLiteral(vector.body)],
      ['signature', apexLiteral(vector.signature)],
    ];
    const missing = parts.filter(([, apexText]) => !signerTest.includes(apexText)).map(([part]) => part);
    expect(missing).toEqual([]);
  });
});
