/**
 * The Apex side (apex/) can't be deployed here, so these tests catch what can be caught without an
 * org: every class and trigger parses as Apex (`npm run apex:check` type-checks them too), every
 * metadata file is well-formed XML with the API version we ship, the org-side setup is safe as
 * shipped (objects disabled, a placeholder endpoint that can't resolve, no session ids, the Outbound
 * Message fired by a Flow, the platform event published after commit), and the signature vectors
 * shared with the TypeScript verifier appear, unchanged, in the Apex signer test (so the two sides
 * can't drift apart).
 */
import { createHmac } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { ApexErrorListener, ApexParserFactory } from '@apexdevtools/apex-parser';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { loadSignatureVectors } from '../helpers/signature-vectors.js';

/** Tests run from the repository root (jest's rootDir). */
const APEX_DIR = resolve('apex');
const SOURCE_DIR = join(APEX_DIR, 'force-app/main/default');
const SIGNER_TEST = join(SOURCE_DIR, 'classes/ForcehookSignerTest.cls');
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

/** Metadata XML as plain objects; these elements are always lists, however many there are. */
const metadataParser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  isArray: (name) =>
    [
      'values',
      'namedCredentialParameters',
      'externalCredentialParameters',
      'externalCredentialPrincipalAccesses',
      'objectPermissions',
      'outboundMessages',
      'rules',
      'actionCalls',
    ].includes(name),
});

function metadata(path: string): Record<string, unknown> {
  return metadataParser.parse(readFileSync(join(SOURCE_DIR, path), 'utf8')) as Record<string, unknown>;
}

function source(path: string): string {
  return readFileSync(join(SOURCE_DIR, path), 'utf8');
}

type Values = { field: string; value: string | Record<string, never> }[];

describe('apex/ org setup as shipped', () => {
  test('every object setting ships disabled, and new ones start disabled', () => {
    const records = filesUnder(join(SOURCE_DIR, 'customMetadata'), (path) => path.startsWith('Forcehook_Object_Setting.'));
    expect(records.length).toBeGreaterThanOrEqual(3);
    for (const path of records) {
      const values = (metadataParser.parse(readFileSync(path, 'utf8')) as { CustomMetadata: { values: Values } }).CustomMetadata.values;
      expect({ path: relative(APEX_DIR, path), enabled: values.find((v) => v.field === 'Enabled__c')?.value }).toEqual({
        path: relative(APEX_DIR, path),
        enabled: 'false',
      });
    }
    const field = metadata('objects/Forcehook_Object_Setting__mdt/fields/Enabled__c.field-meta.xml') as { CustomField: { defaultValue: string } };
    expect(field.CustomField.defaultValue).toBe('false');
  });

  test('the Named Credential is the current kind, points at https://forcehook.invalid and adds no auth header', () => {
    const nc = (metadata('namedCredentials/Forcehook.namedCredential-meta.xml') as { NamedCredential: Record<string, unknown> }).NamedCredential;
    expect(nc['namedCredentialType']).toBe('SecuredEndpoint');
    expect(nc['generateAuthorizationHeader']).toBe('false');
    expect(nc['allowMergeFieldsInBody']).toBe('false');
    const parameters = nc['namedCredentialParameters'] as Record<string, string>[];
    expect(parameters.find((p) => p['parameterType'] === 'Url')?.['parameterValue']).toBe('https://forcehook.invalid');
    expect(parameters.find((p) => p['parameterType'] === 'Authentication')?.['externalCredential']).toBe('Forcehook');
    // Fields of legacy named credentials (deprecated): none of them.
    for (const legacy of ['endpoint', 'principalType', 'protocol', 'username', 'password']) {
      expect(nc).not.toHaveProperty(legacy);
    }
  });

  test('the External Credential has a named principal, and the sender permission set grants it', () => {
    const ec = (metadata('externalCredentials/Forcehook.externalCredential-meta.xml') as { ExternalCredential: Record<string, unknown> }).ExternalCredential;
    const principals = (ec['externalCredentialParameters'] as Record<string, string>[]).filter((p) => p['parameterType'] === 'NamedPrincipal');
    expect(principals.map((p) => p['parameterName'])).toEqual(['Sender']);
    const permissionSet = (metadata('permissionsets/Forcehook_Sender.permissionset-meta.xml') as { PermissionSet: Record<string, unknown> }).PermissionSet;
    expect(permissionSet['externalCredentialPrincipalAccesses']).toEqual([{ enabled: 'true', externalCredentialPrincipal: 'Forcehook-Sender' }]);
  });

  test('no deployable file names a host someone else could claim', () => {
    const deployable = filesUnder(SOURCE_DIR, (path) => /(-meta\.xml|\.cls|\.trigger)$/.test(path));
    const claimable = deployable.filter((path) => /herokuapp\.com|\.example\.com\/(apex|outbound)/.test(readFileSync(path, 'utf8')));
    expect(claimable.map((path) => relative(APEX_DIR, path))).toEqual([]);
  });

  test('no Outbound Message asks for a session id (Salesforce sends none since Feb 2026)', () => {
    const offenders = filesUnder(SOURCE_DIR, (path) => path.endsWith('-meta.xml')).filter((path) =>
      /<includeSessionId>\s*true\s*<\/includeSessionId>/.test(readFileSync(path, 'utf8')),
    );
    expect(offenders).toEqual([]);
  });

  test('a record-triggered Flow sends the Outbound Message; no workflow rule does', () => {
    const workflow = (metadata('workflows/Contact.workflow-meta.xml') as { Workflow: { outboundMessages: Record<string, string>[]; rules?: unknown[] } }).Workflow;
    expect(workflow.rules ?? []).toEqual([]);
    const messageNames = workflow.outboundMessages.map((m) => `Contact.${m['fullName']}`);
    expect(workflow.outboundMessages.every((m) => m['includeSessionId'] === 'false')).toBe(true);

    const flows = filesUnder(join(SOURCE_DIR, 'flows'), (path) => path.endsWith('.flow-meta.xml'));
    expect(flows.length).toBeGreaterThan(0);
    const flow = (metadataParser.parse(readFileSync(flows[0]!, 'utf8')) as { Flow: Record<string, unknown> }).Flow;
    const start = flow['start'] as Record<string, unknown>;
    expect([flow['processType'], start['triggerType'], start['object'], start['recordTriggerType']]).toEqual([
      'AutoLaunchedFlow',
      'RecordAfterSave',
      'Contact',
      'CreateAndUpdate',
    ]);
    const actions = (flow['actionCalls'] as Record<string, string>[]).filter((a) => a['actionType'] === 'outboundMessage');
    expect(actions.map((a) => a['actionName'])).toEqual(messageNames);
    expect((start['connector'] as Record<string, string>)['targetReference']).toBe(actions[0]!['name']);
  });

  test('the sample Outbound Message, its Flow and the subscriber config stay opt-in (.forceignore)', () => {
    const ignored = readFileSync(join(APEX_DIR, '.forceignore'), 'utf8');
    for (const path of [
      '**/workflows/Contact.workflow-meta.xml',
      '**/flows/Forcehook_Contact_Changed.flow-meta.xml',
      '**/platformEventSubscriberConfigs/ForcehookChangeSubscriber.platformEventSubscriberConfig-meta.xml',
    ]) {
      expect(ignored.split('\n')).toContain(path);
    }
  });

  test('Forcehook_Change__e is a platform event published after commit, with a subscriber trigger', () => {
    const event = (metadata('objects/Forcehook_Change__e/Forcehook_Change__e.object-meta.xml') as { CustomObject: Record<string, string> }).CustomObject;
    expect([event['publishBehavior'], event['eventType']]).toEqual(['PublishAfterCommit', 'HighVolume']);
    expect(source('triggers/ForcehookChangeSubscriber.trigger')).toMatch(/trigger\s+ForcehookChangeSubscriber\s+on\s+Forcehook_Change__e\s*\(\s*after insert\s*\)/);
  });

  test('the trigger path publishes and never enqueues, keeps no static "already sent" set, and jobs attach a finalizer', () => {
    const dispatcher = source('classes/ForcehookDispatcher.cls');
    expect(dispatcher).toContain('EventBus.publish(');
    expect(dispatcher).not.toMatch(/System\.enqueueJob|alreadySent/);
    expect(source('classes/ForcehookCalloutJob.cls')).toMatch(/System\.attachFinalizer\(new ForcehookCalloutFinalizer\(/);
  });

  test('Apex tests read an Opportunity stage from the org instead of hard-coding one', () => {
    const tests = filesUnder(join(SOURCE_DIR, 'classes'), (path) => path.endsWith('Test.cls'));
    const hardCoded = tests.filter((path) => /StageName\s*=\s*'/.test(readFileSync(path, 'utf8')));
    expect(hardCoded.map((path) => relative(APEX_DIR, path))).toEqual([]);
    expect(tests.some((path) => /FROM\s+OpportunityStage/.test(readFileSync(path, 'utf8')))).toBe(true);
  });
});

