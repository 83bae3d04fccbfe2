import type { ODataModel } from './model.js';

const xml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * The CSDL document (`$metadata`) Salesforce reads when you click Validate and Sync: one entity type
 * per entity set, its key, and each property's Edm type. Capabilities annotations say which sets
 * accept inserts, updates and deletes.
 */
export function metadataXml(model: ODataModel): string {
  const ns = model.namespace;
  const types: string[] = [];
  const sets: string[] = [];
  for (const set of model.sets.values()) {
    const props = set.properties.map((p) => {
      const attrs = [`Name="${xml(p.name)}"`, `Type="${p.type}"`];
      if (!p.nullable) attrs.push('Nullable="false"');
      if (p.maxLength !== undefined) attrs.push(`MaxLength="${p.maxLength}"`);
      if (p.type === 'Edm.DateTimeOffset') attrs.push('Precision="3"');
      return `        <Property ${attrs.join(' ')}/>`;
    });
    types.push(`      <EntityType Name="${xml(set.name)}">\n        <Key><PropertyRef Name="${xml(set.key.name)}"/></Key>\n${props.join('\n')}\n      </EntityType>`);
    const w = set.writable;
    const restrictions = [
      `<Annotation Term="Org.OData.Capabilities.V1.InsertRestrictions"><Record><PropertyValue Property="Insertable" Bool="${w.create}"/></Record></Annotation>`,
      `<Annotation Term="Org.OData.Capabilities.V1.UpdateRestrictions"><Record><PropertyValue Property="Updatable" Bool="${w.update}"/></Record></Annotation>`,
      `<Annotation Term="Org.OData.Capabilities.V1.DeleteRestrictions"><Record><PropertyValue Property="Deletable" Bool="${w.delete}"/></Record></Annotation>`,
    ];
    sets.push(`        <EntitySet Name="${xml(set.name)}" EntityType="${ns}.${xml(set.name)}">\n          ${restrictions.join('\n          ')}\n        </EntitySet>`);
  }
  return [
    '<?xml version="1.0" encoding="utf-8"?>',
    '<edmx:Edmx xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx" Version="4.0">',
    '  <edmx:DataServices>',
    `    <Schema xmlns="http://docs.oasis-open.org/odata/ns/edm" Namespace="${ns}">`,
    ...types,
    '      <EntityContainer Name="Container">',
    ...sets,
    '      </EntityContainer>',
    '    </Schema>',
    '  </edmx:DataServices>',
    '</edmx:Edmx>',
    '',
  ].join('\n');
}

/** The service document: the entity sets, for `GET /odata/v4/`. */
export function serviceDocument(model: ODataModel, root: string): unknown {
  return {
    '@odata.context': `${root}$metadata`,
    value: [...model.sets.values()].map((s) => ({ name: s.name, kind: 'EntitySet', url: s.name })),
  };
}
