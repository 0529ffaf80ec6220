import ts from 'typescript';

/**
 * The AWS actions a handler can reach: `new XCommand(...)` of an @aws-sdk package in the functions,
 * methods and initialisers reachable from the handler module (a method counts only when called, so
 * a shared Store class does not lend every handler all of its commands).
 */
const SERVICE_PREFIX: Record<string, string> = {
  'client-auto-scaling': 'autoscaling',
  'client-cloudwatch': 'cloudwatch',
  'client-cloudwatch-logs': 'logs',
  'client-codebuild': 'codebuild',
  'client-dynamodb': 'dynamodb',
  'client-ec2': 'ec2',
  'client-ecr': 'ecr',
  'client-ecs': 'ecs',
  'client-elastic-load-balancing-v2': 'elasticloadbalancing',
  'client-eventbridge': 'events',
  'client-iam': 'iam',
  'client-s3': 's3',
  'client-sfn': 'states',
  'client-sns': 'sns',
  'client-sqs': 'sqs',
  'client-ssm': 'ssm',
};

/** lib-dynamodb's document commands are the item-level DynamoDB actions. */
const DOCUMENT_COMMANDS: Record<string, string> = {
  GetCommand: 'GetItem',
  PutCommand: 'PutItem',
  UpdateCommand: 'UpdateItem',
  DeleteCommand: 'DeleteItem',
  QueryCommand: 'Query',
  ScanCommand: 'Scan',
  BatchGetCommand: 'BatchGetItem',
  BatchWriteCommand: 'BatchWriteItem',
  TransactGetCommand: 'TransactGetItems',
  TransactWriteCommand: 'TransactWriteItems',
};

export function actionOf(packageName: string, commandName: string): string {
  if (packageName === 'lib-dynamodb') {
    const action = DOCUMENT_COMMANDS[commandName];
    if (!action) throw new Error(`no DynamoDB action known for lib-dynamodb ${commandName}`);
    return `dynamodb:${action}`;
  }
  const prefix = SERVICE_PREFIX[packageName];
  if (!prefix) throw new Error(`no IAM service prefix known for @aws-sdk/${packageName}`);
  return `${prefix}:${commandName.replace(/Command$/, '')}`;
}

const isProjectFile = (file: string) => !file.includes('/node_modules/') && !file.endsWith('.d.ts');

export function createAnalyzer(rootFiles: string[]) {
  const program = ts.createProgram(rootFiles, {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    allowJs: false,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  });
  const checker = program.getTypeChecker();

  function resolve(symbol: ts.Symbol | undefined): ts.Symbol | undefined {
    if (symbol && symbol.flags & ts.SymbolFlags.Alias) return checker.getAliasedSymbol(symbol);
    return symbol;
  }

  /** What running `declaration` may execute: a class runs its constructor and field initialisers only. */
  function bodiesOf(declaration: ts.Declaration): ts.Node[] {
    if (ts.isClassDeclaration(declaration) || ts.isClassExpression(declaration)) {
      return declaration.members.filter((m) => ts.isConstructorDeclaration(m) || ts.isPropertyDeclaration(m));
    }
    return [declaration];
  }

  return function awsActions(handlerFile: string): Set<string> {
    const source = program.getSourceFile(handlerFile);
    if (!source) throw new Error(`${handlerFile} is not in the program`);
    const actions = new Set<string>();
    const visited = new Set<ts.Node>();
    const queue: ts.Node[] = [source];
    const enqueue = (symbol: ts.Symbol | undefined) => {
      for (const declaration of resolve(symbol)?.declarations ?? []) {
        if (!isProjectFile(declaration.getSourceFile().fileName)) continue;
        for (const body of bodiesOf(declaration)) if (!visited.has(body)) queue.push(body);
      }
    };
    // methods of object literals run only when something calls a property of that name (through an interface)
    const deferred = new Map<string, ts.Node[]>();
    const called = new Set<string>();
    const call = (name: string) => {
      called.add(name);
      for (const fn of deferred.get(name) ?? []) if (!visited.has(fn)) queue.push(fn);
    };
    // ts.isDeclaration exists at runtime but is not in the public typings
    const isDeclaration = (node: ts.Node) => (ts as unknown as { isDeclaration(n: ts.Node): boolean }).isDeclaration(node);
    const walk = (node: ts.Node): void => {
      if (ts.isTypeNode(node) || ts.isInterfaceDeclaration(node) || ts.isTypeAliasDeclaration(node) || ts.isImportDeclaration(node)) return;
      if (node.parent && ts.isObjectLiteralExpression(node.parent)) {
        const member = ts.isMethodDeclaration(node) || ts.isPropertyAssignment(node) ? node : undefined;
        const fn =
          member && ts.isMethodDeclaration(member)
            ? member
            : member && (ts.isArrowFunction(member.initializer) || ts.isFunctionExpression(member.initializer))
              ? member.initializer
              : undefined;
        if (fn && member && ts.isIdentifier(member.name)) {
          const name = member.name.text;
          deferred.set(name, [...(deferred.get(name) ?? []), fn]);
          if (called.has(name)) queue.push(fn);
          return;
        }
      }
      if (ts.isPropertyAccessExpression(node)) call(node.name.text);
      if (ts.isNewExpression(node)) {
        const symbol = resolve(checker.getSymbolAtLocation(node.expression));
        const declaration = symbol?.declarations?.[0];
        const file = declaration?.getSourceFile().fileName ?? '';
        const match = /\/node_modules\/@aws-sdk\/([^/]+)\//.exec(file);
        if (match && symbol!.name.endsWith('Command')) actions.add(actionOf(match[1]!, symbol!.name));
      }
      if (ts.isIdentifier(node) && !(isDeclaration(node.parent) && (node.parent as ts.NamedDeclaration).name === node)) {
        enqueue(checker.getSymbolAtLocation(node));
      }
      ts.forEachChild(node, walk);
    };
    while (queue.length) {
      const node = queue.shift()!;
      if (visited.has(node)) continue;
      visited.add(node);
      // a root's own children: walking the root itself would defer an object-literal method again
      ts.forEachChild(node, walk);
    }
    return actions;
  };
}
