import ts from 'typescript';

/**
 * The AWS actions a handler can reach: `new XCommand(...)` (and `paginateX(...)`) of an @aws-sdk
 * package in the functions, methods and initialisers reachable from the handler module. A method
 * counts only when called, so a shared store class does not lend every handler all of its commands:
 * called through its class's type, the checker names it; called through an interface (a port such as
 * `Store`), the methods of every instantiated class and of every reached object literal are matched
 * by name instead.
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

/** The @aws-sdk package a declaration comes from (`client-ecs`, `lib-dynamodb`), if any. */
const awsPackageOf = (declaration: ts.Declaration | undefined) => /\/node_modules\/@aws-sdk\/([^/]+)\//.exec(declaration?.getSourceFile().fileName ?? '')?.[1];

type FunctionBody = ts.MethodDeclaration | ts.AccessorDeclaration;
type ClassLike = ts.ClassDeclaration | ts.ClassExpression;

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

  const isFunction = (node: ts.Node | undefined): node is ts.ArrowFunction | ts.FunctionExpression => !!node && (ts.isArrowFunction(node) || ts.isFunctionExpression(node));

  /** The class a declaration names: `class C {}`, or `const C = class {}`. */
  function classOf(declaration: ts.Declaration): ClassLike | undefined {
    if (ts.isClassDeclaration(declaration) || ts.isClassExpression(declaration)) return declaration;
    if (ts.isVariableDeclaration(declaration) && declaration.initializer && ts.isClassExpression(declaration.initializer)) return declaration.initializer;
    return undefined;
  }

  /** A class and the project classes it extends, nearest first. */
  function classChain(cls: ClassLike): ClassLike[] {
    const chain: ClassLike[] = [];
    for (let current: ClassLike | undefined = cls; current && !chain.includes(current); ) {
      chain.push(current);
      const base: ts.Expression | undefined = current.heritageClauses?.find((h) => h.token === ts.SyntaxKind.ExtendsKeyword)?.types[0]?.expression;
      const declaration: ts.Declaration | undefined = base ? resolve(checker.getSymbolAtLocation(base))?.declarations?.[0] : undefined;
      current = declaration && isProjectFile(declaration.getSourceFile().fileName) ? classOf(declaration) : undefined;
    }
    return chain;
  }

  /** What running `declaration` may execute: a class runs its constructor and field initialisers only. */
  function bodiesOf(declaration: ts.Declaration): ts.Node[] {
    const cls = classOf(declaration);
    if (cls) return cls.members.filter((m) => ts.isConstructorDeclaration(m) || ts.isPropertyDeclaration(m) || ts.isClassStaticBlockDeclaration(m));
    return [declaration];
  }

  /**
   * The public instance methods and accessors of a class, by the name a property access calls them
   * with. Private and protected ones are left out: only the class's own code calls them, through
   * `this`, whose type names them, so they are reached like any checker-resolved call (and a `.get`
   * elsewhere does not reach a private `get`).
   */
  function methodsOf(cls: ClassLike): Array<[string, FunctionBody]> {
    const methods: Array<[string, FunctionBody]> = [];
    const hidden = ts.ModifierFlags.Static | ts.ModifierFlags.Private | ts.ModifierFlags.Protected;
    for (const member of cls.members) {
      if (!(ts.isMethodDeclaration(member) || ts.isGetAccessorDeclaration(member) || ts.isSetAccessorDeclaration(member))) continue;
      if (!member.body || ts.getCombinedModifierFlags(member) & hidden) continue;
      const name = ts.isIdentifier(member.name) || ts.isStringLiteral(member.name) ? member.name.text : undefined;
      if (name) methods.push([name, member]);
    }
    return methods;
  }

  /** The action of a `paginateX` function of an @aws-sdk package: it sends `XCommand`s. */
  function paginatorAction(symbol: ts.Symbol): string | undefined {
    const match = /^paginate([A-Z]\w*)$/.exec(symbol.name);
    const packageName = awsPackageOf(symbol.declarations?.[0]);
    if (!packageName) return undefined;
    if (/^waitUntil[A-Z]/.test(symbol.name)) throw new Error(`@aws-sdk/${packageName} ${symbol.name}: waiters are not analysed (teach call-graph.ts which command it polls)`);
    return match ? actionOf(packageName, `${match[1]}Command`) : undefined;
  }

  return function awsActions(handlerFile: string): Set<string> {
    const source = program.getSourceFile(handlerFile);
    if (!source) throw new Error(`${handlerFile} is not in the program`);
    const actions = new Set<string>();
    const visited = new Set<ts.Node>();
    const queue: ts.Node[] = [source];
    const push = (node: ts.Node) => {
      if (!visited.has(node)) queue.push(node);
    };
    const enqueue = (symbol: ts.Symbol | undefined) => {
      for (const declaration of resolve(symbol)?.declarations ?? []) {
        if (!isProjectFile(declaration.getSourceFile().fileName)) continue;
        for (const body of bodiesOf(declaration)) push(body);
      }
    };
    // Functions that run only when something calls a property of their name (through an interface):
    // methods of reached object literals and of instantiated classes.
    const deferred = new Map<string, ts.Node[]>();
    const called = new Set<string>();
    const call = (name: string) => {
      called.add(name);
      for (const fn of deferred.get(name) ?? []) push(fn);
    };
    const defer = (name: string, fn: ts.Node) => {
      deferred.set(name, [...(deferred.get(name) ?? []), fn]);
      if (called.has(name)) push(fn);
    };
    const instantiated = new Set<ClassLike>();
    const instantiate = (cls: ClassLike) => {
      for (const c of classChain(cls)) {
        if (instantiated.has(c)) continue;
        instantiated.add(c);
        // constructors and field initialisers of the whole chain run (an implicit or explicit super())
        for (const body of bodiesOf(c)) push(body);
        for (const [name, method] of methodsOf(c)) defer(name, method);
      }
    };
    /** `{ name }`: a function it names becomes a method of the literal; anything else is a plain reference. */
    const shorthand = (member: ts.ShorthandPropertyAssignment) => {
      const value = resolve(checker.getShorthandAssignmentValueSymbol(member));
      for (const declaration of value?.declarations ?? []) {
        if (!isProjectFile(declaration.getSourceFile().fileName)) continue;
        const fn = ts.isFunctionDeclaration(declaration)
          ? declaration
          : ts.isVariableDeclaration(declaration) && isFunction(declaration.initializer)
            ? declaration.initializer
            : undefined;
        if (fn) defer(member.name.text, fn);
        else for (const body of bodiesOf(declaration)) push(body);
      }
    };
    // ts.isDeclaration exists at runtime but is not in the public typings
    const isDeclaration = (node: ts.Node) => (ts as unknown as { isDeclaration(n: ts.Node): boolean }).isDeclaration(node);
    const walk = (node: ts.Node): void => {
      if (ts.isTypeNode(node) || ts.isInterfaceDeclaration(node) || ts.isTypeAliasDeclaration(node) || ts.isImportDeclaration(node)) return;
      if (node.parent && ts.isObjectLiteralExpression(node.parent)) {
        if (ts.isShorthandPropertyAssignment(node)) {
          shorthand(node);
          return;
        }
        const member = ts.isMethodDeclaration(node) || ts.isAccessor(node) || ts.isPropertyAssignment(node) ? node : undefined;
        const fn = member && (ts.isPropertyAssignment(member) ? (isFunction(member.initializer) ? member.initializer : undefined) : member);
        if (member && fn && (ts.isIdentifier(member.name) || ts.isStringLiteral(member.name))) {
          defer(member.name.text, fn);
          return;
        }
      }
      if (ts.isPropertyAccessExpression(node)) call(node.name.text);
      if (ts.isElementAccessExpression(node) && ts.isStringLiteralLike(node.argumentExpression)) call(node.argumentExpression.text);
      // `const { getApp } = store` takes the method by name too
      if (ts.isBindingElement(node) && ts.isObjectBindingPattern(node.parent)) {
        const key = node.propertyName ?? node.name;
        if (ts.isIdentifier(key) || ts.isStringLiteral(key)) call(key.text);
      }
      if (ts.isNewExpression(node)) {
        const symbol = resolve(checker.getSymbolAtLocation(node.expression));
        const declaration = symbol?.declarations?.[0];
        const packageName = awsPackageOf(declaration);
        if (packageName && symbol!.name.endsWith('Command')) actions.add(actionOf(packageName, symbol!.name));
        for (const d of symbol?.declarations ?? []) {
          const cls = isProjectFile(d.getSourceFile().fileName) ? classOf(d) : undefined;
          if (cls) instantiate(cls);
        }
      }
      if (ts.isIdentifier(node) && !(isDeclaration(node.parent) && (node.parent as ts.NamedDeclaration).name === node)) {
        const symbol = resolve(checker.getSymbolAtLocation(node));
        const paginator = symbol && paginatorAction(symbol);
        if (paginator) actions.add(paginator);
        enqueue(symbol);
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
